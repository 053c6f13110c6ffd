"""An image in use (instances, launch templates, shares) whose delete the API refuses, under the real Pulumi CLI:
the advice must work when followed. The engine deletes a replaced image with the inputs it was built with, also
when a later `pulumi up` retries it (a pending delete), so force_delete in the program cannot reach it; a destroy
of the resource's current image can be helped by it."""

from __future__ import annotations

import textwrap

from pulumi_pcimage.client import ParallelClusterClient

from .conftest import EXAMPLES, REGION, write_project

IMAGE_TYPE = "pulumi-python:dynamic/pcimage:CustomImage"

IN_USE = textwrap.dedent("""\
    import pulumi

    from pulumi_pcimage import CustomImage, get_official_images

    config = pulumi.Config()
    parent_ami = get_official_images(os="alinux2023", architecture="x86_64")[0].ami_id
    CustomImage("hpc-base",
                image_configuration={"Build": {"InstanceType": config.get("instanceType") or "c6i.xlarge",
                                               "ParentImage": parent_ami}},
                force_delete=config.get_bool("forceDelete") or False)
    """)


START = "the API refused to delete image "


def refusal(result) -> str:
    """The provider's message for the refused delete, as the CLI printed it: the dynamic host puts a traceback
    above it and the exception's class before it; the package face (the SDK's experimental provider server) wraps
    it as "Unexpected <class 'Exception'>: <message>:"."""
    found = [line[line.index(START):].removesuffix(":") for message in result.diagnostics
             for line in message.splitlines() if START in line]
    assert len(found) == 1, result.text
    return found[0]


def advice(message: str, image_id: str) -> str:
    """What the message says to do: it starts with the API's reason (the emulator names an instance using it)."""
    head = (f"the API refused to delete image '{image_id}': Bad Request: Unable to delete image and stack: Image "
            f"{image_id} is used by instances ['i-")
    assert message.startswith(head), message
    return message.split("'].", 1)[1].strip()


def force_delete_out_of_band(emulator, image_id: str) -> None:
    """`pcluster delete-image --image-id <id> --region us-east-1 --force true`."""
    ParallelClusterClient(emulator.url).delete_image(image_id, region=REGION, force=True)


def test_a_replaced_image_in_use_gets_advice_that_works_for_its_pending_delete(make_stack, emulator, tmp_path):
    stack = make_stack(write_project(tmp_path / "inuse", "inuse", IN_USE), env={"PCLUSTER_API_URL": emulator.url})
    stack.up()
    old, = emulator.images()
    emulator.set_in_use(old)

    stack.config_set("instanceType", "c6i.2xlarge")
    replaced = stack.up(check=False)
    assert replaced.returncode != 0
    assert replaced.applied() == [("hpc-base", "create-replacement"), ("hpc-base", "replace")]
    assert replaced.failed() == [("hpc-base", "delete-replaced")]
    new = next(r["id"] for r in stack.resources(IMAGE_TYPE) if not r.get("delete"))
    assert [r["id"] for r in stack.resources(IMAGE_TYPE) if r.get("delete")] == [old]  # a pending delete
    told = refusal(replaced)
    assert advice(told, old) == (
        "It is the image this resource had before a replacement, which the engine deletes with the inputs it was "
        "built with, also when a later `pulumi up` retries: setting force_delete on the resource does not reach it. "
        "Stop what uses the AMI (instances, launch templates, shares) and run `pulumi up` again; or delete it "
        f"whatever uses it, `pcluster delete-image --image-id {old} --region us-east-1 --force true`, and run "
        "`pulumi up` again, which finds it gone.")

    # What the old message advised: force_delete=True in the program. The retried delete still runs with the old
    # inputs (force=false) and is refused the same way, as the message now says.
    stack.config_set("forceDelete", "true")
    retried = stack.up(check=False)
    assert retried.returncode != 0 and retried.failed() == [("hpc-base", "delete-replaced")]
    assert refusal(retried) == told
    assert sorted(emulator.images()) == sorted([old, new])

    # What it advises now: delete it whatever uses it, then `pulumi up` again.
    force_delete_out_of_band(emulator, old)
    stack.up()
    assert emulator.images() == [new]
    assert [r["id"] for r in stack.resources(IMAGE_TYPE)] == [new], "no pending delete left"

    stack.destroy()
    assert emulator.images() == []


def test_an_image_in_use_refused_by_destroy_gets_advice_that_works(make_stack, emulator, tmp_path):
    stack = make_stack(write_project(tmp_path / "inuse", "inuse", IN_USE), env={"PCLUSTER_API_URL": emulator.url})
    stack.up()
    image, = emulator.images()
    emulator.set_in_use(image)

    destroyed = stack.destroy(check=False)
    assert destroyed.returncode != 0 and destroyed.failed() == [("hpc-base", "delete")]
    assert advice(refusal(destroyed), image) == (
        "Stop what uses the AMI (instances, launch templates, shares) and run `pulumi destroy` or `pulumi up` "
        f"again; or delete it whatever uses it, `pcluster delete-image --image-id {image} --region us-east-1 "
        "--force true`, and run the command again, which finds it gone. If the resource is still in your program, "
        "setting force_delete=True and running `pulumi up` lets the next `pulumi destroy` delete it anyway; not so "
        "an image it had before a replacement (the CLI shows its step as `deleting original`), which is deleted "
        "with the inputs it was built with.")

    # Following it: force_delete=True, `pulumi up` (an update in place), `pulumi destroy`.
    stack.config_set("forceDelete", "true")
    assert stack.up().applied() == [("hpc-base", "update")]
    stack.destroy()
    assert emulator.images() == []
    assert stack.resources(IMAGE_TYPE) == []


# The package face: the same lifecycle, its own property names (camelCase), the YAML example's program.
YAML_TYPE = "pcimage:index:CustomImage"


def test_the_package_face_gives_the_same_working_advice_for_a_replaced_image_in_use(make_stack, emulator):
    stack = make_stack(EXAMPLES / "yaml")
    stack.config_set("pcimage:apiUrl", emulator.url)
    stack.up()
    old, = emulator.images()
    emulator.set_in_use(old)

    stack.config_set("yaml:instanceType", "c6i.2xlarge")
    replaced = stack.up(check=False)
    assert replaced.returncode != 0 and replaced.failed() == [("hpcBase", "delete-replaced")]
    new = next(r["id"] for r in stack.resources(YAML_TYPE) if not r.get("delete"))
    assert advice(refusal(replaced), old) == (
        "It is the image this resource had before a replacement, which the engine deletes with the inputs it was "
        "built with, also when a later `pulumi up` retries: setting forceDelete on the resource does not reach it. "
        "Stop what uses the AMI (instances, launch templates, shares) and run `pulumi up` again; or delete it "
        f"whatever uses it, `pcluster delete-image --image-id {old} --region us-east-1 --force true`, and run "
        "`pulumi up` again, which finds it gone.")

    # Following its first choice: free the image, `pulumi up` again.
    emulator.set_in_use(old, False)
    stack.up()
    assert emulator.images() == [new]
    assert [r["id"] for r in stack.resources(YAML_TYPE)] == [new], "no pending delete left"
    stack.destroy()
    assert emulator.images() == []
