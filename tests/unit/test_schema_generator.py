"""The schema generator on what ParallelCluster's schema can hold but today's release does not use (mappings,
numbers, ranges, a minimum length alone, a section used in two places): every kind and rule that
`scripts/generate_config_schema.py` emits is typed and described. The shipped schema itself is checked by
tests/unit/test_package_face.py and tests/package/test_schema_quality.py."""

from __future__ import annotations

import pytest

from pulumi_pcimage import pcluster_schema
from pulumi_pcimage.package import schema


@pytest.fixture
def image_keys(monkeypatch):
    """Adds keys to the image configuration's `Image` section; gives the generated types."""
    def generate(**keys):
        schemas = {**pcluster_schema.SCHEMAS,
                   "ImageSchema": {**pcluster_schema.SCHEMAS["ImageSchema"], **keys}}
        monkeypatch.setattr(pcluster_schema, "SCHEMAS", schemas)
        return schema.configuration_types()
    return generate


def test_every_kind_the_generator_emits_is_typed(image_keys):
    image = image_keys(Labels={"type": "mapping"}, Ratio={"type": "number"}, Count={"type": "integer", "strict": True},
                       Flags={"type": "list", "items": {"type": "boolean"}})["ImageConfigurationImage"]
    props = image["properties"]
    assert props["Labels"]["type"] == "object"
    assert props["Labels"]["additionalProperties"] == {"$ref": "pulumi.json#/Any"}
    assert props["Ratio"]["type"] == "number"
    assert props["Count"]["type"] == "integer"
    assert props["Flags"]["type"] == "array" and props["Flags"]["items"] == {"type": "boolean"}
    assert props["Labels"]["description"] == "`Image.Labels` in the image configuration."


def test_rules_are_told_in_words(image_keys):
    props = image_keys(
        Suffix={"type": "string", "min_length": 3},
        Ratio={"type": "number", "minimum": 0.5, "maximum": 2},
        Count={"type": "integer", "strict": True, "minimum": 1},
        Loose={"type": "integer"},
        Names={"type": "list", "items": {"type": "string", "max_length": 10}},
        Levels={"type": "list", "min_length": 2, "items": {"type": "integer", "strict": True, "maximum": 9}},
    )["ImageConfigurationImage"]["properties"]
    said = {key: props[key]["description"].removeprefix(f"`Image.{key}` in the image configuration. ")
            for key in ("Suffix", "Ratio", "Count", "Loose", "Names", "Levels")}
    assert said == {
        "Suffix": "At least 3 characters.",
        "Ratio": "At least 0.5. At most 2.",
        "Count": "At least 1.",  # strict: a whole number only, no text
        "Loose": "A whole number (or its text).",  # as the checker: an integer not declared strict takes text
        "Names": "Each item: at most 10 characters.",
        "Levels": "At least 2 items. Each item: at most 9.",
    }


def test_a_section_used_in_two_places_names_both(image_keys):
    types = image_keys(Backup={"type": "object", "schema": "VolumeSchema"})
    volume = types["ImageConfigurationVolume"]
    assert "`Image.RootVolume`" in volume["description"] and "`Image.Backup`" in volume["description"]
    assert volume["properties"]["Size"]["description"].startswith(
        "`Image.RootVolume.Size` and `Image.Backup.Size` in the image configuration.")


def test_descriptions_fold_whitespace_and_keep_the_first_paragraph():
    assert schema.neutral(" Waits for\n    the `image_configuration`,  then `list_images`. ") == (
        "Waits for the `imageConfiguration`, then `listImages`.")
    assert schema._summary("Lists the images\n    of the region.\n\n    Python: `list_images(...)`.") == (
        "Lists the images of the region.")
    assert schema._summary(None) == ""


def test_a_choice_set_without_an_enumeration_is_refused():
    assert schema._enum_for(("AVAILABLE", "PENDING", "FAILED")) == "ImageStatus"
    with pytest.raises(ValueError, match="add one to ENUMS"):
        schema._enum_for(("RED", "GREEN"))
