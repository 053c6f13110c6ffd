"""The conformance suite's two sides: AWS's own API implementation (aws_app.py, in its own virtualenv) and the
emulator, each behind a `Side` that sends one request and returns (status, body).

The AWS side needs a virtualenv holding requirements-aws.txt: `PCIMAGE_AWS_API_VENV`, else `.conformance/venv`
at the repository root (`.ci/run` creates it). Without it the suite is skipped, except under CI=true, where that
is a failure: CI must run it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import pytest
import requests
from requests_aws4auth import AWS4Auth

from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.emulator.catalog import official_images

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("PCIMAGE_AWS_API_VENV") or ROOT / ".conformance" / "venv")
PAGE_SIZE = 2  # both sides page list_images by 2, so a few stacks show paging
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]  # official images are put into AWS's side for these
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
RESULTS: list[tuple[str, bool]] = []  # (case, agreed), printed at the end of the run


def venv_python() -> Path | None:
    python = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    return python if python.exists() else None


class Side:
    """One implementation of the API: `call` sends a request, `complete`/`fail`/`register_parent_image` stand in
    for what happens outside the API (Image Builder finishing, a customer's own AMI existing)."""

    name = ""

    def __init__(self, url: str):
        self.url, self.session = url, requests.Session()

    def call(self, method: str, path: str, params: dict | None = None, json: Any = None) -> tuple[int, Any]:
        response = self.session.request(method, self.url + path, params=params, json=json, timeout=120)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text


class AwsSide(Side):
    name = "aws"

    def __init__(self, url: str):
        super().__init__(url)
        self.base = url

    def hook(self, path: str, body: dict, region: str | None = None) -> None:
        response = self.session.post(f"{self.base}/_hook/{path}", json=body, params={"region": region} if region
                                     else None, timeout=30)
        assert response.status_code == 200, response.text

    def complete(self, image_id: str, ami_id: str, architecture: str, region: str | None = None) -> None:
        self.hook(f"images/{image_id}/complete", {"ami_id": ami_id, "architecture": architecture}, region)

    def fail(self, image_id: str, rollback: bool, region: str | None = None) -> None:
        self.hook(f"images/{image_id}/fail", {"rollback": rollback}, region)

    def register_parent_image(self, image: str, architecture: str, region: str | None = None) -> None:
        self.hook("parent-images", {"image": image, "architecture": architecture}, region)


class EmulatorSide(Side):
    name = "emulator"

    def __init__(self, emulator: Emulator):
        super().__init__(emulator.url)
        self.emulator = emulator
        self.session.auth = AWS4Auth(emulator.access_key, emulator.secret_key, emulator.region, "execute-api")

    def complete(self, image_id: str, region: str | None = None) -> dict:
        self.emulator.complete_build(image_id, region=region)
        return self.call("GET", f"/v3/images/custom/{image_id}", {"region": region} if region else None)[1]

    def fail(self, image_id: str, rollback: bool, region: str | None = None) -> None:
        self.emulator.fail_build(image_id, region=region)

    def register_parent_image(self, image: str, architecture: str, region: str | None = None) -> None:
        self.emulator.register_parent_image(image, architecture=architecture, region=region)


@pytest.fixture(scope="session")
def aws() -> Iterator[AwsSide]:
    python = venv_python()
    if python is None:
        message = (f"AWS's API implementation is not installed: no virtualenv at {VENV} (create it with "
                   "`python3 -m venv .conformance/venv && .conformance/venv/bin/pip install -r "
                   "tests/conformance/requirements-aws.txt`, or set PCIMAGE_AWS_API_VENV)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    with tempfile.TemporaryDirectory(prefix="pcimage-aws-api-") as scratch:
        port_file = Path(scratch) / "port"
        log = open(Path(scratch) / "aws_app.log", "w+")
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        env.update(CREDENTIALS, CONFORMANCE_PAGE_SIZE=str(PAGE_SIZE), HOME=scratch)
        process = subprocess.Popen([str(python), str(Path(__file__).with_name("aws_app.py")), str(port_file)],
                                   stdout=log, stderr=subprocess.STDOUT, env=env, cwd=scratch)
        try:
            deadline = time.monotonic() + 120
            while not port_file.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"AWS's API app did not start:\n{log.read()[-3000:]}")
                time.sleep(0.1)
            side = AwsSide(f"http://127.0.0.1:{port_file.read_text()}")
            for region in REGIONS:  # the same official images on both sides
                side.hook("official-images", {"images": official_images(region)}, region)
            yield side
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorSide]:
    # Builds end only when told to (as on AWS's side); moto deletes a stack at once, so deletions take 0 s.
    with Emulator(build_seconds=24 * 3600, delete_seconds=0, page_size=PAGE_SIZE, sparse_pages=True) as emu:
        yield EmulatorSide(emu)


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "PCLUSTER_API_URL"):
        monkeypatch.delenv(name, raising=False)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    if RESULTS:
        agreed = sum(ok for _, ok in RESULTS)
        terminalreporter.write_line(f"conformance: {agreed} of {len(RESULTS)} cases agree between AWS's "
                                    "implementation (aws-parallelcluster 3.16.1 + moto) and the emulator")
        for case, ok in RESULTS:
            if not ok:
                terminalreporter.write_line(f"  differs: {case}")
