"""The emulator's doors: control routes behind a token and JSON, loopback Host only, loopback bind unless told,
bodies limited before they are read, `host` signed, presigned URLs from its own address, owner-only files."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

import psutil
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from requests_aws4auth import AWS4Auth

from pulumi_pcimage.emulator import Emulator, EmulatorControl, EmulatorControlError
from pulumi_pcimage.emulator.catalog import official_ami_id

CONFIG = f"Build:\n  InstanceType: c6i.xlarge\n  ParentImage: {official_ami_id('us-east-1')}\n"


@pytest.fixture
def emulator():
    with Emulator(build_seconds=60, delete_seconds=0.1) as emu:
        yield emu


def signed_headers(emulator: Emulator, method: str, path: str, host: str | None = None, body: bytes = b"",
                   secret: str = "testing", signer: type[SigV4Auth] = SigV4Auth) -> dict[str, str]:
    request = AWSRequest(method=method, url=f"http://{host or f'127.0.0.1:{emulator.port}'}{path}", data=body)
    signer(Credentials("testing", secret), "execute-api", emulator.region).add_auth(request)
    return {**request.headers, **({"Host": host} if host else {})}


def raw_exchange(port: int, head: str, body_chunks=(), timeout: float = 10.0) -> bytes:
    """Send a request head (and some body) and return the start of the answer; the body may never be completed."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode())
        for chunk in body_chunks:
            sock.sendall(chunk)
        return sock.recv(4096)


# ---------------------------------------------------------------- control routes


def test_control_routes_refuse_a_caller_without_the_token(emulator):
    for method, path, body in [("POST", "faults", {"error_rate": 1.0}),
                               ("PUT", "credentials", {"credentials": [["attacker", "attacker"]]}),
                               ("POST", "images/x/fail", {}), ("GET", "counters", None), ("GET", "images", None)]:
        answer = requests.request(method, f"{emulator.base_url}/_emulator/{path}", json=body, timeout=10)
        assert answer.status_code == 401, (method, path, answer.text)
        assert "X-Pcimage-Emulator-Token" in answer.json()["message"]
    assert emulator.faults.settings()["error_rate"] == 0.0
    signed = requests.get(f"{emulator.url}/v3/images/official", timeout=10,
                          auth=AWS4Auth("testing", "testing", emulator.region, "execute-api"))
    assert signed.status_code == 200  # the accepted keys were not replaced


def test_emulator_control_finds_the_token_of_an_emulator_of_this_process(emulator):
    EmulatorControl(emulator.base_url).set_faults(latency_ms=1)
    assert emulator.faults.settings()["latency_ms"] == 1
    with pytest.raises(EmulatorControlError) as refused:
        EmulatorControl(emulator.base_url, token="guessed").set_faults(latency_ms=5)
    assert refused.value.status == 401 and emulator.faults.settings()["latency_ms"] == 1


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_control_writes_need_a_json_content_type(emulator, content_type):
    """What a web page can send cross-origin without a preflight ("simple" requests) is refused."""
    answer = requests.post(f"{emulator.base_url}/_emulator/faults", data='{"error_rate": 1.0}', timeout=10,
                           headers={"Content-Type": content_type, "X-Pcimage-Emulator-Token": emulator.control_token})
    assert answer.status_code == 415
    assert emulator.faults.settings()["error_rate"] == 0.0


@pytest.mark.parametrize("path", ["/_emulator/health", "/prod/v3/images/official"])
def test_only_loopback_host_names_are_answered(emulator, path):
    """DNS rebinding: a page from attacker.example whose name now resolves to 127.0.0.1 sends its own Host."""
    head = f"GET {path} HTTP/1.1\r\nHost: attacker.example:{emulator.port}\r\nConnection: close\r\n\r\n"
    assert raw_exchange(emulator.port, head).startswith(b"HTTP/1.1 421")
    for name in ("localhost", "127.0.0.1", "[::1]"):
        head = f"GET /_emulator/health HTTP/1.1\r\nHost: {name}:{emulator.port}\r\nConnection: close\r\n\r\n"
        assert raw_exchange(emulator.port, head).startswith(b"HTTP/1.1 200"), name


# ---------------------------------------------------------------- binding and files


def test_a_non_loopback_bind_needs_an_explicit_flag_and_keys_of_its_own(caplog):
    with pytest.raises(ValueError, match="allow_remote"):
        Emulator(host="0.0.0.0")
    with pytest.raises(ValueError, match="testing/testing keys are public"):
        Emulator(host="0.0.0.0", allow_remote=True)
    Emulator(host="0.0.0.0", allow_remote=True, access_key="AKIDLAB", secret_key="a-lab-secret").close()  # not started
    assert "reachable from other machines" in caplog.text


def test_the_command_line_refuses_a_non_loopback_bind():
    done = subprocess.run([sys.executable, "-m", "pulumi_pcimage.emulator", "--host", "0.0.0.0", "--quiet"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--allow-remote" in done.stderr


def test_the_database_is_owner_only(tmp_path):
    with Emulator(build_seconds=60, db_path=str(tmp_path / "images.sqlite")) as emulator:
        answer = requests.post(f"{emulator.url}/v3/images/custom",
                               json={"imageId": "img", "imageConfiguration": CONFIG},
                               auth=AWS4Auth("testing", "testing", emulator.region, "execute-api"), timeout=10)
        assert answer.status_code == 202
        files = [path for path in tmp_path.iterdir() if path.name.startswith("images.sqlite")]
        assert files and {path.name: stat.S_IMODE(path.stat().st_mode) & 0o077 for path in files} == \
            {path.name: 0 for path in files}


def test_the_command_line_takes_the_secret_from_the_environment_and_writes_an_owner_only_token(tmp_path):
    port_file = tmp_path / "emulator.port"
    env = {**os.environ, "PCIMAGE_EMULATOR_SECRET_KEY": "secret-from-the-environment"}
    env.pop("PCIMAGE_EMULATOR_CONTROL_TOKEN", None)
    process = subprocess.Popen([sys.executable, "-m", "pulumi_pcimage.emulator", "--quiet", "--port-file",
                                str(port_file)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        assert "secret-from-the-environment" not in " ".join(psutil.Process(process.pid).cmdline())
        token_file = tmp_path / "emulator.port.token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        control = EmulatorControl.from_port_file(port_file)
        assert control.images() == []
        with pytest.raises(EmulatorControlError):
            EmulatorControl(control.base_url, token="").images()
        url = f"{control.base_url}/prod/v3/images/official"
        for secret, status in (("secret-from-the-environment", 200), ("testing", 403)):
            answer = requests.get(url, auth=AWS4Auth("testing", secret, "us-east-1", "execute-api"), timeout=10)
            assert answer.status_code == status, secret
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        process.stderr.close()


# ---------------------------------------------------------------- signatures and addresses


class _HostNotSigned(SigV4Auth):
    def headers_to_sign(self, request):
        headers = super().headers_to_sign(request)
        del headers["host"]
        return headers


def test_a_signature_that_does_not_sign_host_is_refused(emulator):
    headers = signed_headers(emulator, "GET", "/prod/v3/images/official", signer=_HostNotSigned)
    assert "host" not in headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    answer = requests.get(f"{emulator.url}/v3/images/official", headers=headers, timeout=10)
    assert answer.status_code == 403
    assert answer.json()["message"].startswith("'Host' or ':authority' must be a 'SignedHeader'")


def test_presigned_urls_use_the_emulators_own_address_not_the_host_header(emulator):
    EmulatorControl(emulator.base_url).set_faults()  # (token found transparently)
    requests.post(f"{emulator.url}/v3/images/custom", json={"imageId": "img", "imageConfiguration": CONFIG},
                  auth=AWS4Auth("testing", "testing", emulator.region, "execute-api"), timeout=10)
    host = f"localhost:{emulator.port}"
    headers = signed_headers(emulator, "GET", "/prod/v3/images/custom/img", host=host)
    answer = requests.get(f"{emulator.url}/v3/images/custom/img", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["imageConfiguration"]["url"].startswith(f"{emulator.base_url}/_emulator/configs/img/")


# ---------------------------------------------------------------- bodies


def test_an_unsigned_huge_body_is_refused_without_being_read(emulator):
    head = (f"POST /prod/v3/images/custom HTTP/1.1\r\nHost: 127.0.0.1:{emulator.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {1024 ** 3}\r\n\r\n")
    assert raw_exchange(emulator.port, head, [b"{" * 4096]).startswith(b"HTTP/1.1 403")


def test_a_signed_body_over_the_limit_is_refused_before_it_is_read(emulator):
    headers = signed_headers(emulator, "POST", "/prod/v3/images/custom")
    headers["Content-Length"] = str(11 * 1024 * 1024)
    head = "POST /prod/v3/images/custom HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    assert raw_exchange(emulator.port, head, [b" " * 4096]).startswith(b"HTTP/1.1 413")
    assert emulator.counters()["build_image"] == 0


def test_concurrent_large_bodies_stay_within_a_memory_bound(tmp_path):
    """Four clients each push 64 MiB at a separate emulator process; its memory grows by far less than that."""
    port_file = tmp_path / "port"
    process = subprocess.Popen([sys.executable, "-m", "pulumi_pcimage.emulator", "--quiet", "--port-file",
                                str(port_file)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        port = int(port_file.read_text())
        watched = psutil.Process(process.pid)
        before = watched.memory_info().rss
        peak = [before]
        answers: list[bytes] = []

        def push() -> None:
            head = (f"POST /prod/v3/images/custom HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {64 * 1024 ** 2}\r\n\r\n")
            chunk = b" " * (1024 ** 2)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                    sock.sendall(head.encode())
                    for _ in range(64):
                        sock.sendall(chunk)
                    answers.append(sock.recv(64))
            except OSError as exc:  # the server may close once it answered: also a refusal
                answers.append(repr(exc).encode())

        clients = [threading.Thread(target=push) for _ in range(4)]
        for client in clients:
            client.start()
        while any(client.is_alive() for client in clients):
            peak[0] = max(peak[0], watched.memory_info().rss)
            time.sleep(0.005)
        assert len(answers) == 4 and not any(answer.startswith(b"HTTP/1.1 202") for answer in answers)
        assert peak[0] - before < 48 * 1024 ** 2, f"grew by {(peak[0] - before) / 1024 ** 2:.0f} MiB"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
