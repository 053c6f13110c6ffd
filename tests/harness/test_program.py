"""A Pulumi program runs under the SDK's mocks, its dynamic resources created by the real provider host."""

from pathlib import Path

import pytest
from pulumi.runtime import settings

from pulumi_pcimage.testing import UNKNOWN, HostError, ProviderHost, provider_value
from pulumi_pcimage.testing import CheckFailed, run_program
from tests.support.toyprovider import FileProvider

PROGRAM = Path(__file__).parent / "program"


@pytest.fixture(scope="module")
def host():
    with ProviderHost(PROGRAM, project="toy", config={"toy:banner": "stack-banner"}) as running:
        yield running


def test_up_creates_through_the_host_and_returns_the_exports(host, tmp_path):
    run = run_program(PROGRAM, host, project="toy", config={"toy:directory": str(tmp_path)})

    hello = tmp_path / "hello.txt"
    assert hello.read_text() == "hello"  # written by the provider inside the host process
    assert (tmp_path / "echo.txt").read_text() == str(hello)  # the second resource saw the first's output
    assert run.outputs == {"path": str(hello), "size": 5.0, "summary": "stack-banner:hello",
                           "echoed": str(hello), "token": "s3cr3t"}
    greeting = run.resource("greeting")
    assert greeting.type == "pulumi-python:dynamic/toy:File" and greeting.id == str(hello)
    assert greeting.outputs["banner"] == "stack-banner"
    # the value dynamic.Resource registered is the one provider_value computes
    assert greeting.inputs["__provider"] == provider_value(FileProvider())


def test_preview_checks_only_and_leaves_computed_values_unknown(host, tmp_path):
    run = run_program(PROGRAM, host, project="toy", config={"toy:directory": str(tmp_path)}, preview=True)

    assert list(tmp_path.iterdir()) == []  # nothing created
    assert run.outputs["path"] == UNKNOWN and run.outputs["summary"] == UNKNOWN
    assert run.outputs["token"] == "s3cr3t"
    assert run.resource("echo").inputs["content"] == UNKNOWN  # Check received the unknown, as in a preview
    assert run.resource("greeting").inputs["content"] == "hello"


def test_check_failure_stops_the_run_naming_field_and_rule(host, tmp_path):
    with pytest.raises(CheckFailed, match=r"resource 'greeting' has a problem: name: name 'bad name' must match"):
        run_program(PROGRAM, host, project="toy",
                    config={"toy:directory": str(tmp_path), "toy:fileName": "bad name"})
    assert list(tmp_path.iterdir()) == []


def test_failed_create_stops_the_run_with_the_provider_message(host, tmp_path):
    with pytest.raises(HostError) as failed:
        run_program(PROGRAM, host, project="toy", config={"toy:directory": str(tmp_path), "toy:fail": "quota exceeded"})
    assert str(failed.value) == "UNKNOWN: quota exceeded", "the provider's message first"
    assert failed.value.message == "quota exceeded" and "RuntimeError" not in failed.value.message
    assert failed.value.traceback.startswith("Traceback (most recent call last):"), "the traceback on request"
    assert "RuntimeError: quota exceeded" in failed.value.details
    assert list(tmp_path.iterdir()) == []  # the dependent resource was never created


def test_runs_are_independent(host, tmp_path):
    first = run_program(PROGRAM, host, project="toy", config={"toy:directory": str(tmp_path / "1")}, preview=True)
    (tmp_path / "2").mkdir()
    second = run_program(PROGRAM, host, project="toy",
                         config={"toy:directory": str(tmp_path / "2"), "toy:content": "again"})

    assert first.outputs["path"] == UNKNOWN
    assert second.outputs["summary"] == "stack-banner:again" and len(second.resources) == 2
    assert settings.get_root_resource() is None  # nothing left behind in the caller's context


def test_project_comes_from_pulumi_yaml_and_bare_config_keys_get_its_namespace(host, tmp_path):
    # `pulumi config set directory ...` in project "toy" stores `toy:directory`; run_program does the same
    run = run_program(PROGRAM, host, config={"directory": str(tmp_path)})
    assert run.project == "toy" and (tmp_path / "hello.txt").read_text() == "hello"
