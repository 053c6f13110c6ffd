"""The standalone server: CLI, port file, clean stop on signals, and state that survives restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime

import pytest

from pulumi_pcimage.emulator import Emulator, EmulatorControl

from .conftest import Client


class Process:
    """`python -m pulumi_pcimage.emulator` as a child process, with its stage URL."""

    def __init__(self, tmp_path, *args: str):
        self.port_file = tmp_path / f"port-{time.monotonic_ns()}"
        self.proc = subprocess.Popen([sys.executable, "-m", "pulumi_pcimage.emulator", "--quiet",
                                      "--port-file", str(self.port_file), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.banner = self.proc.stdout.readline().strip()
        assert self.banner.startswith("pcimage-emulator listening on http://127.0.0.1:"), self.proc.stderr.read()
        self.port = int(self.port_file.read_text())
        self.url = self.banner.rsplit(" ", 1)[1]

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=20)
        self.stderr = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code


class Remote:
    """What Client needs of an emulator, for one running in another process."""

    def __init__(self, url: str, region: str = "us-east-1"):
        self.url, self.region = url, region


def wait_until(epoch: float) -> None:
    while time.time() <= epoch:
        time.sleep(0.05)


def created_at(client: Client, image_id: str) -> float:
    stamp = client.describe(image_id).json()["cloudformationStackCreationTime"]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_cli_announces_its_url_and_stops_cleanly(tmp_path, signum):
    process = Process(tmp_path, "--stage", "test", "--region", "eu-west-1")
    assert process.url == f"http://127.0.0.1:{process.port}/test"
    client = Client(Remote(process.url, "eu-west-1"))
    assert client("GET", "/v3/images/official").status_code == 200
    assert process.stop(signum) == 0


def test_quiet_means_no_request_log_so_an_unread_pipe_never_fills(tmp_path):
    process = Process(tmp_path, "--region", "us-east-1")
    client = Client(Remote(process.url))
    for _ in range(20):
        assert client("GET", "/v3/images/official").status_code == 200
    assert process.stop() == 0
    # a request log fills a pipe nobody reads, and the emulator then blocks: only the stop is said
    assert process.stderr == "pcimage-emulator stopped\n"


def test_the_cli_refuses_bad_options(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pulumi_pcimage.emulator", "--error-rate", "2"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--error-rate" in result.stderr and "between 0 and 1" in result.stderr


def test_a_build_survives_a_process_restart_and_completes_on_schedule(tmp_path):
    db = str(tmp_path / "state.sqlite")
    first = Process(tmp_path, "--db", db, "--build-seconds", "8", "--access-key", "AKID", "--secret-key", "s")
    client = Client(Remote(first.url), access_key="AKID", secret_key="s")
    assert client.build("img").status_code == 202
    started = created_at(client, "img")
    assert first.stop() == 0

    second = Process(tmp_path, "--db", db, "--build-seconds", "600", "--access-key", "AKID", "--secret-key", "s")
    client = Client(Remote(second.url), access_key="AKID", secret_key="s")
    try:
        assert client.describe("img").json()["imageBuildStatus"] == "BUILD_IN_PROGRESS"
        wait_until(started + 8)  # the schedule set before the restart, not the new --build-seconds
        done = client.describe("img").json()
        assert done["imageBuildStatus"] == "BUILD_COMPLETE"
        # creationTime is the AMI's CreationDate, which EC2 gives to the second
        assert datetime.fromisoformat(done["creationTime"].replace("Z", "+00:00")).timestamp() == \
            int(started + 8)
        assert EmulatorControl.from_port_file(second.port_file).images() == ["img"]
    finally:
        assert second.stop() == 0


def test_stop_and_start_keep_the_port_and_the_database(tmp_path):
    with Emulator(build_seconds=1.5, db_path=str(tmp_path / "db.sqlite")) as emulator:
        client = Client(emulator)
        assert client.build("img").status_code == 202
        url, started = emulator.url, created_at(client, "img")
        emulator.stop()
        emulator.start()
        assert emulator.url == url
        assert client.describe("img").json()["imageBuildStatus"] == "BUILD_IN_PROGRESS"
        wait_until(started + 1.5)
        assert client.describe("img").json()["imageBuildStatus"] == "BUILD_COMPLETE"
    assert os.path.exists(tmp_path / "db.sqlite")  # a database the caller named is kept


def test_the_default_database_is_a_temporary_file_removed_on_exit():
    with Emulator() as emulator:
        path = emulator.db_path
        assert os.path.exists(path)
    assert not os.path.exists(path)
