"""Configuration text limits at their exact edges (docs/reliability.md, "Security guarantees"): 1 MiB of text, 4 MiB
of characters and 100,000 values once aliases are written out, 64 levels; the same limits for a mapping given as is."""

import contextlib

import pytest
import yaml

from pulumi_pcimage import config
from pulumi_pcimage.config import ConfigError

BUILD = "Build: {InstanceType: c6i.xlarge, ParentImage: ami-0123456789abcdef0}\n"
MiB = 1024 * 1024


def yaml_version() -> tuple[int, ...]:
    return tuple(int(part) for part in yaml.__version__.split(".")[:3])


def _built(*args, **kwargs):
    raise AssertionError("the document was built before the limit refused it")


@contextlib.contextmanager
def refused_unbuilt(match: str):
    """A text over a limit is refused from its event stream, before PyYAML builds anything (docs/reliability.md:
    "each limit is checked before the work it protects")."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(config.yaml, "safe_load", _built)
        with pytest.raises(ConfigError, match=match) as raised:
            yield raised


def test_text_of_exactly_one_mib_is_read_and_one_character_more_is_refused():
    text = BUILD + "#" + "x" * (MiB - len(BUILD) - 2) + "\n"
    assert len(text) == MiB and config.load(text)["Build"]["InstanceType"] == "c6i.xlarge"
    with pytest.raises(ConfigError, match="is 1,048,577 characters long, more than the 1,048,576 allowed"):
        config.load(text + " ")


def nested(levels: int) -> str:
    return "{a: " * levels + "1" + "}" * levels


def nested_dict(levels: int) -> dict:
    doc: dict = {"leaf": 1}
    for _ in range(levels - 1):
        doc = {"a": doc}
    return doc


@pytest.mark.parametrize("form", ["text", "mapping"])
def test_sixty_four_levels_are_read_and_sixty_five_refused(form):
    make = nested if form == "text" else nested_dict
    config.load(make(64))
    with refused_unbuilt("is nested more than 64 levels deep"):
        config.load(make(65))


@pytest.mark.parametrize("form", ["text", "mapping"])
def test_one_hundred_thousand_values_are_read_and_one_more_refused(form):
    # a mapping, its key, a list: 3 values, then the list's items
    def doc(items):
        return f"k: [{', '.join('x' * items)}]" if form == "text" else {"k": ["x"] * items}
    if form == "mapping":  # reading 100,000 values of text takes seconds: its edge is held by the mapping form
        assert len(config.load(doc(99_997))["k"]) == 99_997
    with refused_unbuilt("expands to more than 100,000 values once its YAML aliases are written out"):
        config.load(doc(99_998))


def test_four_mib_of_characters_once_aliases_are_written_out_and_one_more_refused():
    # every scalar costs its length + 1, every mapping or list 1: here 6 + 4095 * 1024 + 2 + (m + 1)
    def text(m):
        return f"a: &x {'v' * 1023}\nb: [{', '.join(['*x'] * 4094)}]\nc: {'w' * m}\n"
    doc = config.load(text(1015))
    assert len(doc["b"]) == 4094 and len(doc["c"]) == 1015
    with refused_unbuilt("expands to more than 4,194,304 characters"):
        config.load(text(1016))
    with pytest.raises(ConfigError, match="expands to more than 4,194,304 characters"):
        config.load({"a": "v" * 1023, "b": ["v" * 1023] * 4094, "c": "w" * 1016})
    config.load({"a": "v" * 1023, "b": ["v" * 1023] * 4094, "c": "w" * 1015})


def test_a_mapping_that_contains_itself_is_refused():
    doc: dict = {"Build": {}}
    doc["Build"]["again"] = doc
    with pytest.raises(ConfigError) as raised:
        config.load(doc)
    assert str(raised.value) == ("refers to itself (an alias *name inside its own anchor &name): it cannot be "
                                 "written out")


def test_yaml_whose_alias_sits_inside_its_own_anchor_is_refused_the_same_way():
    with pytest.raises(ConfigError) as raised:
        config.load("Build: &loop\n  InstanceType: c6i.xlarge\n  Again: *loop\n")
    assert str(raised.value) == ("refers to itself (an alias *name inside its own anchor &name): it cannot be "
                                 "written out")


def test_depth_is_nesting_however_many_collections_close_before_it():
    # 6,000 empty lists side by side, then 3,000 levels: refused by the depth rule, before the recursive loader
    text = "x: [" + "[], " * 6000 + "[" * 3000 + "]" * 3000 + "]\n"
    with refused_unbuilt("nested") as raised:
        config.load(text)
    assert str(raised.value) == "is nested more than 64 levels deep; image configurations need fewer than 10"


@pytest.mark.parametrize("loader", ["libyaml", "python"])
@pytest.mark.parametrize("text", ["[" * 1200 + "]" * 1200, "x: " + "{a: " * 1200 + "1" + "}" * 1200,
                                  "".join(" " * i + "a:\n" for i in range(1200)) + " " * 1200 + "b\n"])
def test_nesting_past_the_parsers_own_limit_is_refused_by_our_rule(text, loader, monkeypatch):
    # libyaml 0.2.6 (PyYAML >= 6.0.4 wheels) refuses 1,000 levels itself, scanning a flow collection ahead before any
    # event reaches the depth rule; the pure-Python parser (PyYAML without libyaml) has no such limit
    if loader == "python":
        monkeypatch.setattr(config, "_SafeLoader", yaml.SafeLoader)
    with refused_unbuilt("nested") as raised:
        config.load(text)
    assert str(raised.value) == "is nested more than 64 levels deep; image configurations need fewer than 10"


@pytest.mark.skipif(not yaml.__with_libyaml__ or yaml_version() < (6, 0, 4), reason="libyaml's limit: PyYAML >= 6.0.4")
def test_libyaml_still_names_its_nesting_limit_as_config_expects():
    # PyYAML 6.0.4 brought libyaml 0.2.6 and its nesting limit; config translates that error by its text. If a
    # release words it differently, this fails, naming the dependency that changed
    with pytest.raises(yaml.YAMLError) as raised:
        list(yaml.parse("[" * 1200 + "]" * 1200, Loader=yaml.CSafeLoader))
    assert raised.value.problem == config._LIBYAML_TOO_DEEP, f"PyYAML {yaml.__version__} changed libyaml's message"


def test_a_shared_list_counts_its_values_each_time_it_appears():
    part = ["v"] * 99  # 100 values with the list itself
    config.load({"x": [part] * 999})  # 2 + 999 * 100 = 99,902 values
    with pytest.raises(ConfigError, match="expands to more than 100,000 values"):
        config.load({"x": [part] * 1000})


def test_a_shared_part_of_a_mapping_counts_each_time_it_appears():
    part = {"k": "v" * 1023}
    with pytest.raises(ConfigError, match="4,194,304 characters"):
        config.load({"x": [part] * 4096})


@pytest.mark.parametrize("value, message", [
    ("", "must be a YAML mapping with at least a Build section, but it is empty"),
    ("- a\n- b\n", "must be a YAML mapping with at least a Build section, but it is a list"),
    ("just text", "must be a YAML mapping with at least a Build section, but it is a str"),
])
def test_a_configuration_that_is_not_a_mapping_says_what_it_is(value, message):
    with pytest.raises(ConfigError) as raised:
        config.load(value)
    assert str(raised.value) == message and raised.value.public == message


def test_invalid_yaml_says_where_and_the_public_text_quotes_nothing():
    with pytest.raises(ConfigError) as raised:
        config.load("Build:\n  InstanceType: c6i.xlarge\n  ParentImage: [ami-secret-123\n")
    assert str(raised.value).startswith("is not valid YAML: ")
    assert raised.value.public == "is not valid YAML at line 4, column 1: did not find expected ',' or ']'"
    assert "ami-secret-123" not in raised.value.public


def test_an_unreadable_character_is_a_syntax_error_without_a_position():
    with pytest.raises(ConfigError) as raised:
        config.load("Build:\n  InstanceType: c6i.xlarge\x00\n")
    assert raised.value.public == "is not valid YAML: syntax error"


def test_the_canonical_forms_keep_non_ascii_text_as_written():
    doc = {"Image": {"Name": "café-ñ"}, "Build": {"InstanceType": "c6i.xlarge"}}
    assert config.canonical(doc) == "Build:\n  InstanceType: c6i.xlarge\nImage:\n  Name: café-ñ\n"
    assert config.canonical_json(doc) == '{"Build":{"InstanceType":"c6i.xlarge"},"Image":{"Name":"café-ñ"}}'


def test_a_value_that_is_neither_text_nor_a_mapping_names_its_type():
    with pytest.raises(ConfigError, match="must be YAML text or a mapping, got int"):
        config.load(42)


def test_a_parent_image_the_schema_lets_through_is_still_refused_in_plain_words():
    problems = config.validate(config.load("Build: {InstanceType: c6i.xlarge, ParentImage: amiroot}"))
    assert [str(p) for p in problems] == [
        "Build.ParentImage: 'amiroot' must be an AMI id (ami-...) or an image ARN (arn:...)"]


def test_without_botocore_s_instance_type_list_a_typo_gets_no_suggestion_and_no_crash(monkeypatch):
    import botocore.session

    def broken():
        raise RuntimeError("no data")

    config._ec2_instance_types.cache_clear()
    monkeypatch.setattr(botocore.session, "get_session", broken)
    try:
        assert config.validate(config.load("Build: {InstanceType: c6i.xlarg, ParentImage: ami-0123456789abcdef0}")) \
            == []
    finally:
        config._ec2_instance_types.cache_clear()


def test_an_alias_bomb_is_refused_before_it_is_built():
    # "billion laughs": seven levels of ten aliases each, 10,000,000 values once written out
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [" + ", ".join([f"*{p}"] * 10) + "]\n" for p, c in zip("abcdef", "bcdefg", strict=True))
    with refused_unbuilt("expands to more than 100,000 values once its YAML aliases are written out"):
        config.load(text)
