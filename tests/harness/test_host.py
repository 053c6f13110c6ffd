"""The harness drives the SDK's real provider host (``python -m pulumi.dynamic``) as the engine would."""

import threading
import time
from pathlib import Path

import grpc
import pytest
from pulumi.runtime import rpc
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

from pulumi_pcimage.testing import UNKNOWN, HostError, ProviderHost, provider_value, urn
from tests.support.toyprovider import FileProvider

PROVIDER = provider_value(FileProvider())


@pytest.fixture(scope="module")
def host():
    with ProviderHost(config={"toy:banner": "from-config"}) as running:
        yield running


def program_inputs(directory, name="a.txt", **extra):
    # What a ToyFile registers: the provider as a secret (dynamic.Resource always makes it one), plain inputs.
    return {"__provider": rpc.wrap_rpc_secret(PROVIDER), "directory": str(directory), "name": name, **extra}


def test_lifecycle_up_change_replace_refresh_destroy(host, tmp_path):
    u = urn("notes")
    checked = host.check(u, {}, program_inputs(tmp_path, content="v1"))
    assert checked.failures == []
    # The host tells Configure it takes no secrets and no previews: secrets arrive unwrapped, and a preview never
    # reaches Create or Update (facts the provider relies on; a new SDK that changes them must fail here).
    assert (host.accepts_secrets, host.supports_preview, host.handshook) == (False, False, False)
    assert checked.inputs["__provider"] == PROVIDER

    id_, outs = host.create(u, checked.inputs)
    path = tmp_path / "a.txt"
    assert id_ == str(path) and path.read_text() == "v1"
    assert outs["size"] == 2.0 and isinstance(outs["size"], float)  # integers come back as floats
    assert outs["banner"] == "from-config"  # Configure carried the stack config
    assert outs["__provider"] == PROVIDER

    assert host.read(id_, u, outs, inputs=checked.inputs) == (id_, outs)

    news = host.check(u, checked.inputs, program_inputs(tmp_path, content="version 2")).inputs
    change = host.diff(id_, u, outs, news, old_inputs=checked.inputs)
    assert (change.changes, change.replaces, change.delete_before_replace) == (True, [], False)
    outs = host.update(id_, u, outs, news, old_inputs=checked.inputs)
    assert path.read_text() == "version 2" and outs["size"] == 9.0

    same = host.diff(id_, u, outs, news, old_inputs=news)
    assert same.changes is False

    moved = host.check(u, news, program_inputs(tmp_path, name="b.txt", content="version 2")).inputs
    replace = host.diff(id_, u, outs, moved, old_inputs=news)
    assert (replace.changes, replace.replaces, replace.delete_before_replace) == (True, ["name"], True)

    path.unlink()  # removed behind Pulumi's back: refresh must see it gone
    gone_id, _ = host.read(id_, u, outs, inputs=news)
    assert gone_id == ""

    host.create(u, news)
    host.delete(id_, u, outs, old_inputs=news)
    assert not path.exists()


def test_check_failures_name_the_field_and_the_rule(host, tmp_path):
    result = host.check(urn("bad"), {}, {"__provider": PROVIDER, "name": "no spaces allowed"})
    assert ("directory", "directory is required") in result.failures
    assert ("name", "name 'no spaces allowed' must match ^[A-Za-z0-9][A-Za-z0-9._-]*$") in result.failures


def test_preview_unknowns_reach_check_and_diff(host, tmp_path):
    u = urn("later")
    checked = host.check(u, {}, program_inputs(tmp_path, content=UNKNOWN))
    assert checked.failures == [] and checked.inputs["content"] == UNKNOWN

    _, outs = host.create(u, host.check(u, {}, program_inputs(tmp_path, content="known")).inputs)
    unknown_name = host.diff(outs["path"], u, outs, {**outs, "name": UNKNOWN})
    assert unknown_name.replaces == ["name"] and unknown_name.delete_before_replace is True
    unknown_content = host.diff(outs["path"], u, outs, {**outs, "content": UNKNOWN})
    assert unknown_content.changes is True and unknown_content.replaces == []


def test_exception_in_create_is_a_host_error_with_the_message(host, tmp_path):
    checked = host.check(urn("doomed"), {}, program_inputs(tmp_path, fail="disk on fire"))
    with pytest.raises(HostError) as raised:
        host.create(urn("doomed"), checked.inputs)
    assert raised.value.code == grpc.StatusCode.UNKNOWN
    assert "RuntimeError: disk on fire" in raised.value.details  # the host sends the provider's traceback
    assert not (tmp_path / "a.txt").exists()


def test_blocking_creates_run_concurrently_from_futures_and_threads(host, tmp_path):
    inputs = [host.check(urn(f"slow{i}"), {}, program_inputs(tmp_path, f"slow{i}.txt", sleep=0.5)).inputs
              for i in range(6)]
    pending = [host.create_async(urn(f"slow{i}"), inputs[i]) for i in range(5)]
    from_thread = {}
    worker = threading.Thread(target=lambda: from_thread.update(result=host.create(urn("slow5"), inputs[5])))
    worker.start()
    ids = [future.result()[0] for future in pending]
    worker.join()
    ids.append(from_thread["result"][0])
    assert sorted(ids) == sorted(str(tmp_path / f"slow{i}.txt") for i in range(6))
    assert all(Path(i).exists() for i in ids)


def test_provider_logging_goes_to_stderr_and_the_engine_log_records(host, tmp_path):
    host.create(urn("logged"), host.check(urn("logged"), {}, program_inputs(tmp_path, "logged.txt")).inputs)
    assert f"toy: wrote {tmp_path / 'logged.txt'}" in host.stderr_text()  # pulumi.log without an engine
    # stdout is read by a thread of the harness: the line may land a moment after Create's answer (plumbing, not timing)
    deadline = time.monotonic() + 30
    while "toy: created logged.txt" not in host.stdout_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "toy: created logged.txt" in host.stdout_text()
    # The Engine service the host was given records what is sent to it (as the CLI's would).
    with grpc.insecure_channel(host.engine_address) as channel:
        engine_pb2_grpc.EngineStub(channel).Log(engine_pb2.LogRequest(
            severity=engine_pb2.WARNING, message="hello engine", urn=urn("logged")))
    assert (engine_pb2.WARNING, "hello engine", urn("logged")) in host.logs


def test_killed_host_fails_calls_in_flight_and_after(tmp_path):
    with ProviderHost() as doomed:
        inputs = doomed.check(urn("slow"), {}, program_inputs(tmp_path, sleep=60)).inputs
        in_flight = doomed.create_async(urn("slow"), inputs)
        doomed.kill()
        doomed.kill()  # idempotent
        assert doomed.process.returncode == -9
        with pytest.raises(HostError) as raised:
            in_flight.result()
        assert raised.value.code == grpc.StatusCode.UNAVAILABLE
        with pytest.raises(HostError):
            doomed.check(urn("after"), {}, program_inputs(tmp_path))
    assert not (tmp_path / "a.txt").exists()
    assert not doomed.project_dir.exists()  # the temporary project directory went with the host


def test_host_is_stopped_when_the_block_ends(tmp_path):
    with ProviderHost(tmp_path, project="own-dir") as running:
        process = running.process
        assert running.check(urn("x"), {}, program_inputs(tmp_path)).failures == []
    assert process.poll() is not None
    assert tmp_path.exists()  # a caller's project directory is left alone


def test_host_that_cannot_start_reports_its_stderr(tmp_path):
    # A module named `pulumi` in the project directory shadows the SDK, so `python -m pulumi.dynamic` dies.
    (tmp_path / "pulumi").mkdir()
    (tmp_path / "pulumi" / "__init__.py").write_text("raise SystemExit('shadowed SDK refuses to start')\n")
    host = ProviderHost(tmp_path)
    with pytest.raises(HostError, match="shadowed SDK refuses to start"):
        host.__enter__()
    assert host.process.poll() is not None


def test_the_project_comes_from_pulumi_yaml_as_the_cli_reads_it():
    program = Path(__file__).parent / "program"  # Pulumi.yaml: name: toy
    with ProviderHost(program) as running:
        assert running.project == "toy"
    with ProviderHost() as bare:
        assert bare.project == "test-project" and urn("x").split("::")[1] == "test-project"
