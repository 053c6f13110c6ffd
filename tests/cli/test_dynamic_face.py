"""The Python dynamic face under the real Pulumi CLI: images inside component resources (`parent=`), nested ones,
and images of the same name under different parents."""

from __future__ import annotations

import textwrap

from pulumi_pcimage import identity

from .conftest import write_project

IMAGE_TYPE = "pulumi-python:dynamic/pcimage:CustomImage"
PHYSICS = f"urn:pulumi:dev::components::acme:index:Team${IMAGE_TYPE}::base"
RESEARCH = f"urn:pulumi:dev::components::acme:index:Site$acme:index:Team${IMAGE_TYPE}::base"
TOP = f"urn:pulumi:dev::components::{IMAGE_TYPE}::base"

# Three images called "base": in a component, in the same component type nested in another, and directly under the
# stack resource, named as parent.
COMPONENTS = textwrap.dedent("""\
    import pulumi

    from pulumi_pcimage import CustomImage, get_official_images

    parent_ami = get_official_images(os="alinux2023", architecture="x86_64")[0].ami_id
    instance_type = pulumi.Config().get("instanceType") or "c6i.xlarge"


    class Team(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("acme:index:Team", name, None, opts)
            self.image = CustomImage(
                "base",
                image_configuration={"Build": {"InstanceType": instance_type, "ParentImage": parent_ami}},
                opts=pulumi.ResourceOptions(parent=self))
            self.register_outputs({"image_id": self.image.image_id})


    class Site(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("acme:index:Site", name, None, opts)
            self.team = Team("research", opts=pulumi.ResourceOptions(parent=self))
            self.register_outputs({})


    physics = Team("physics")
    site = Site("campus")
    # The stack resource is a component too; the engine leaves its type out of its children's URNs.
    top = CustomImage("base", image_configuration={"Build": {"InstanceType": instance_type, "ParentImage": parent_ami}},
                      opts=pulumi.ResourceOptions(parent=pulumi.runtime.get_root_resource()))
    pulumi.export("physics", physics.image.image_id)
    pulumi.export("research", site.team.image.image_id)
    """)


def _image_ops(result) -> dict[str, str]:
    """URN -> planned op of every CustomImage step (two images share the name "base": keyed by URN)."""
    return {s.urn: s.op for s in result.steps if s.type.endswith(IMAGE_TYPE)}


def _images(stack) -> dict[str, dict]:
    """URN -> state of every live CustomImage, from `pulumi stack export`."""
    return {r["urn"]: r for r in stack.resources(IMAGE_TYPE) if not r.get("delete")}


def test_images_inside_components_preview_up_change_destroy(make_stack, emulator, tmp_path):
    project = write_project(tmp_path / "components", "components", COMPONENTS)
    stack = make_stack(project, env={"PCLUSTER_API_URL": emulator.url})

    assert _image_ops(stack.preview()) == {PHYSICS: "create", RESEARCH: "create", TOP: "create"}
    assert emulator.images() == []

    stack.up()
    images = _images(stack)
    assert sorted(images) == sorted([PHYSICS, RESEARCH, TOP])
    # Same name, same configuration, different parents: different ids, owners derived from each full URN.
    ids = {urn: r["id"] for urn, r in images.items()}
    assert len(set(ids.values())) == 3
    assert sorted(emulator.images()) == sorted(ids.values())
    for urn, state in images.items():
        assert state["outputs"]["owner"] == identity.owner_marker(urn)
        assert state["id"] == identity.derive_image_id(urn, state["inputs"]["image_configuration"], "us-east-1")
    outputs = stack.outputs()
    assert [outputs["physics"], outputs["research"]] == [ids[PHYSICS], ids[RESEARCH]]

    unchanged = stack.preview()
    assert set(unchanged.document["changeSummary"]) == {"same"}, unchanged.document["changeSummary"]

    stack.config_set("instanceType", "c6i.2xlarge")
    assert _image_ops(stack.preview()) == {PHYSICS: "replace", RESEARCH: "replace", TOP: "replace"}
    replaced = stack.up()
    assert sorted(op for name, op in replaced.applied() if name == "base") == sorted(
        ["create-replacement", "replace", "delete-replaced"] * 3)
    second = {urn: r["id"] for urn, r in _images(stack).items()}
    assert sorted(emulator.images()) == sorted(second.values()) and not set(second.values()) & set(ids.values())

    stack.destroy()
    assert emulator.images() == []
    assert _images(stack) == {}
