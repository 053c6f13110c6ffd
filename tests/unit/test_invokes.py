"""Each function the package serves is declared once (package/schema.py INVOKES): the schema and the dispatch read
the same entry, so an argument the schema offers is one the Python function takes."""

import inspect

from pulumi_pcimage.package.schema import FUNCTION_ARGS, FUNCTIONS, INVOKES


def test_every_declared_argument_reaches_the_function_by_its_python_name():
    for token, invoke in INVOKES.items():
        parameters = inspect.signature(invoke.call).parameters
        named = invoke.arguments({name: f"<{name}>" for name in invoke.args})
        assert set(named) | {"region", "api_url", "aws_profile", "role_arn"} == set(parameters), token
        assert all(value == f"<{name}>" for name, value in zip(
            [n for n in invoke.args if n != "region"], named.values(), strict=True)), token


def test_the_schema_views_are_the_registry():
    assert set(FUNCTIONS) == set(FUNCTION_ARGS) == set(INVOKES)
    for token, invoke in INVOKES.items():
        assert FUNCTIONS[token] == (invoke.call.__doc__, invoke.result, "list" if invoke.many else "one")
        assert FUNCTION_ARGS[token] is invoke.args
