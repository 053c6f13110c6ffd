"""CustomImage on the program side: derived ids, arguments, and registration under pulumi mocks."""

import dataclasses
import inspect
import re
import typing

import pulumi
import pytest
from hypothesis import given, strategies as st
from pulumi.runtime import rpc

from pulumi_pcimage import CustomImage, CustomImageArgs, derive_image_id
from pulumi_pcimage.errors import EndpointNotConfigured
from pulumi_pcimage.fields import FIELDS, IMAGE_ID_PATTERN, USER_INPUTS

CONFIG = "Build:\n  InstanceType: c6i.xlarge\n  ParentImage: ami-0123456789abcdef0\n"


URN = "urn:pulumi:dev::proj::pulumi-python:dynamic/pcimage:CustomImage::hpc-base"


def test_derived_id_is_stable_and_ignores_formatting():
    a = derive_image_id(URN, CONFIG, "us-east-1")
    assert a == derive_image_id(URN, "Build: {ParentImage: ami-0123456789abcdef0, InstanceType: c6i.xlarge}",
                                "us-east-1")
    # pinned: a library or PyYAML upgrade must never rename (and so rebuild) every image
    assert a == "hpc-base-5f1515e7c3"


@pytest.mark.parametrize("change", [
    dict(configuration=CONFIG.replace("c6i.xlarge", "c6i.2xlarge")), dict(region="eu-west-1"),
    dict(urn=URN.replace("::proj::", "::other::")), dict(urn=URN.replace("urn:pulumi:dev", "urn:pulumi:prod")),
    dict(urn=URN.replace("::pulumi-python", "::my:index:Component$pulumi-python"))])
def test_derived_id_changes_exactly_when_a_replacement_is_due_or_the_urn_differs(change):
    base = dict(urn=URN, configuration=CONFIG, region="us-east-1")
    assert derive_image_id(**{**base, **change}) != derive_image_id(**base)


@given(st.text(min_size=1, max_size=300).filter(lambda name: "::" not in name))
def test_derived_id_always_matches_the_api_pattern(name):
    urn = URN.rsplit("::", 1)[0] + "::" + name
    assert re.fullmatch(IMAGE_ID_PATTERN, derive_image_id(urn, CONFIG, "us-east-1"))


def test_args_accept_exactly_the_user_inputs():
    args = CustomImageArgs(image_configuration=CONFIG)
    assert set(vars(args)) == {f.name for f in USER_INPUTS}
    with pytest.raises(TypeError):
        CustomImageArgs(image_configuration=CONFIG, ami_id="ami-1")


class Recorder(pulumi.runtime.Mocks):
    def __init__(self):
        self.registered = []

    def new_resource(self, args):
        self.registered.append(args)
        return f"{args.name}-id", {**args.inputs, "ami_id": "ami-0f00"}

    def call(self, args):
        return {}


@pytest.fixture
def mocks(monkeypatch):
    monkeypatch.delenv("PCLUSTER_API_URL", raising=False)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    pulumi.runtime.config.set_all_config({})  # no stack config left behind by other tests
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project="proj", stack="dev", preview=False)
    yield recorder
    # set_mocks and set_all_config write process-wide state: leave none behind for later tests
    pulumi.runtime.settings.reset_options()
    pulumi.runtime.config.set_all_config({})


@pulumi.runtime.test
def test_registration_under_mocks(mocks, monkeypatch):
    monkeypatch.setenv("PCLUSTER_API_URL", "http://127.0.0.1:9/prod/")
    image = CustomImage("hpc base!", image_configuration={"Build": {"InstanceType": "c6i.xlarge",
                                                                    "ParentImage": pulumi.Output.from_input("ami-1")}})

    def check(values):
        api_url, region, ami_id, configuration = values
        assert api_url == "http://127.0.0.1:9/prod"
        assert region == "us-east-1" and ami_id == "ami-0f00"
        assert configuration == "Build:\n  InstanceType: c6i.xlarge\n  ParentImage: ami-1\n"
        args, = mocks.registered
        assert args.typ == "pulumi-python:dynamic/pcimage:CustomImage"
        assert args.inputs["owner"] == "urn:pulumi:dev::proj::pulumi-python:dynamic/pcimage:CustomImage::hpc base!"
        assert args.inputs.get("image_id") is None, "derived by the provider's check, from the URN"
        provider_value = rpc.unwrap_rpc_secret(args.inputs["__provider"])
        assert len(provider_value) < 300, "pickled by reference, holding nothing"
        assert all(isinstance(getattr(image, f.name), pulumi.Output) for f in FIELDS), "a property per field"

    return pulumi.Output.all(image.api_url, image.region, image.ami_id,
                             image.image_configuration).apply(check)


@pulumi.runtime.test
def test_an_image_inside_nested_components_carries_its_full_urn_and_no_dependency_on_them(mocks, monkeypatch):
    # create_urn(parent=component) made the owner depend on the component, hence on its children: this image
    # itself (the SDK's "circular dependency"). Under the stack itself, the engine leaves the stack's type out.
    monkeypatch.setenv("PCLUSTER_API_URL", "http://127.0.0.1:9/prod/")
    site = pulumi.ComponentResource("acme:index:Site", "campus")
    team = pulumi.ComponentResource("acme:index:Team", "research", opts=pulumi.ResourceOptions(parent=site))
    images = [CustomImage("base", CustomImageArgs(image_configuration=CONFIG), pulumi.ResourceOptions(parent=team)),
              CustomImage("top", CustomImageArgs(image_configuration=CONFIG),
                          pulumi.ResourceOptions(parent=pulumi.runtime.get_root_resource()))]

    def check(_):
        owners = {args.name: args.inputs["owner"] for args in mocks.registered if args.typ.endswith("CustomImage")}
        assert owners == {
            "base": "urn:pulumi:dev::proj::acme:index:Site$acme:index:Team$pulumi-python:dynamic/pcimage:"
                    "CustomImage::base",
            "top": "urn:pulumi:dev::proj::pulumi-python:dynamic/pcimage:CustomImage::top"}
        # Not compared with the mock monitor's URNs: it keeps only the parent's last type in a child's URN, and the
        # stack's type too; tests/cli/test_dynamic_face.py holds these to the engine's.

    return pulumi.Output.all(*(image.urn for image in images)).apply(check)


@pulumi.runtime.test
def test_an_unconfigured_endpoint_fails_clearly(mocks):
    with pytest.raises(EndpointNotConfigured, match="pcimage:apiUrl"):
        CustomImage("x", CustomImageArgs(image_configuration=CONFIG))


@pulumi.runtime.test
def test_the_region_comes_from_the_aws_profile_when_nothing_else_names_one(mocks, monkeypatch, tmp_path):
    profile_file = tmp_path / "aws-config"
    profile_file.write_text("[profile hpc]\nregion = ap-southeast-2\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(profile_file))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    image = CustomImage("hpc", image_configuration=CONFIG, aws_profile="hpc", api_url="http://127.0.0.1:9/prod")
    return image.region.apply(lambda region: assert_equal(region, "ap-southeast-2"))


def assert_equal(actual, expected):
    assert actual == expected


def test_the_typed_api_is_the_field_table():
    # what editors and type checkers see must be exactly the declared fields
    assert [f.name for f in dataclasses.fields(CustomImageArgs)] == [f.name for f in USER_INPUTS]
    assert [f.name for f in dataclasses.fields(CustomImageArgs) if f.default is dataclasses.MISSING] == [
        f.name for f in USER_INPUTS if f.required]
    assert list(CustomImage.__annotations__) == [f.name for f in FIELDS]
    python = {str: "str", bool: "bool", float: "float", list: "list[str]"}
    for f in FIELDS:
        assert CustomImage.__annotations__[f.name] == f"pulumi.Output[{python[f.type]}]", f.name
    keywords = inspect.signature(typing.get_overloads(CustomImage.__init__)[1]).parameters
    assert [name for name, p in keywords.items() if p.kind is p.KEYWORD_ONLY] == [f.name for f in USER_INPUTS]
