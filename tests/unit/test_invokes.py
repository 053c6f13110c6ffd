"""Each function the package serves is declared once (package/schema.py INVOKES): the schema and the dispatch read
the same entry, so an argument the schema offers is one the query takes, with the query's own rule."""

import inspect

import pytest

from pulumi_pcimage import queries
from pulumi_pcimage.package.schema import FUNCTION_ARGS, FUNCTIONS, INVOKES, Invoke


def test_every_declared_argument_reaches_the_query_by_its_python_name():
    for token, invoke in INVOKES.items():
        parameters = inspect.signature(invoke.query.call).parameters
        named = invoke.arguments({name: f"<{name}>" for name in invoke.args})
        assert ["client", *named] == list(parameters), token
        assert list(named.values()) == [f"<{name}>" for name in invoke.args], token
        assert invoke.arguments({}) == dict.fromkeys(named), "absent: None"


def test_the_schema_views_are_the_registry():
    assert set(FUNCTIONS) == set(FUNCTION_ARGS) == set(INVOKES)
    for token, invoke in INVOKES.items():
        query = invoke.query
        assert FUNCTIONS[token] == (query.call.__doc__, query.result, "list" if query.many else "one")
        assert FUNCTION_ARGS[token] == invoke.args


def test_the_schema_offers_each_argument_with_the_querys_rule():
    assert FUNCTION_ARGS["pcimage:index:listImages"] == {
        "imageStatus": ("Which images: built, building or failed.", queries.IMAGE_STATUSES, True),
        "region": (FUNCTION_ARGS["pcimage:index:getImage"]["region"][0], (), False)}
    assert FUNCTION_ARGS["pcimage:index:getOfficialImages"]["architecture"][1:] == (
        queries.SUPPORTED_ARCHITECTURES, False)
    assert FUNCTION_ARGS["pcimage:index:getImage"]["imageId"] == ("The image id.", (), True)


def test_messages_name_the_function_and_its_arguments_from_the_declaration():
    invoke = INVOKES["pcimage:index:getOfficialImages"]
    assert invoke.name == "getOfficialImages"
    assert invoke.names == {"os": "os", "architecture": "architecture", "region": "region"}
    assert INVOKES["pcimage:index:getImage"].names == {"image_id": "imageId", "region": "region"}
    assert INVOKES["pcimage:index:listImages"].name == "listImages"


@pytest.mark.parametrize("described", [
    {"imageId": "The image id."},  # region left out
    {"region": "Where.", "imageId": "The image id."},  # out of order
    {"image_id": "The image id.", "region": "Where."},  # not as the schema spells it
])
def test_a_declaration_must_name_the_querys_arguments_as_the_schema_spells_them(described):
    with pytest.raises(ValueError, match=r"pcimage:index:getImage declares .*; its query takes \['image_id', "
                                         r"'region'\]"):
        Invoke("pcimage:index:getImage", queries.IMAGE, described)


def test_a_declaration_is_an_immutable_value():
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        INVOKES["pcimage:index:getImage"].token = "pcimage:index:deleteEverything"
