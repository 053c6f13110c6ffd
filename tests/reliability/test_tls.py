"""TLS: certificates are always verified; trusting a private CA is an explicit, documented opt-in
(REQUESTS_CA_BUNDLE, which requests honours), never a switch that turns verification off."""

from __future__ import annotations

import datetime
import ipaddress
import re
import ssl
import threading
from pathlib import Path
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server

import pulumi_pcimage
from pulumi_pcimage.client import ParallelClusterClient, RetryPolicy
from pulumi_pcimage.emulator.app import EmulatorApp
from pulumi_pcimage.emulator.control import Counters
from pulumi_pcimage.emulator.faults import Faults
from pulumi_pcimage.emulator.models import ImageService
from pulumi_pcimage.emulator.sigv4 import SigV4Verifier
from pulumi_pcimage.emulator.store import Store
from pulumi_pcimage.errors import TransportError
from tests.engine.conftest import PROJECT, Deployment
from pulumi_pcimage.testing import HostError, ProviderHost

from .conftest import ACCESS_KEY, HOST_ENV, REGION, SECRET_KEY


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def private_ca(directory: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for 127.0.0.1 signed by it: (ca.pem, server.pem, server.key)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("pcimage test CA")).issuer_name(_name("pcimage test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
              .public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class HttpsApi:
    """The emulator's app served over HTTPS on 127.0.0.1 with a certificate from a private CA."""

    def __init__(self, directory: Path):
        self.ca, cert, key = private_ca(directory)
        self.counters = Counters()
        service = ImageService(Store(str(directory / "emulator.sqlite")), region=REGION, build_seconds=0.5,
                               delete_seconds=0.2)
        app = EmulatorApp(service, SigV4Verifier(REGION, [(ACCESS_KEY, SECRET_KEY)]), Faults(), self.counters)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=context)
        self.url = f"https://127.0.0.1:{self.server.server_port}/prod"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def https_api(tmp_path) -> Iterator[HttpsApi]:
    api = HttpsApi(tmp_path)
    yield api
    api.close()


def test_a_certificate_from_an_unknown_ca_is_refused_at_once_and_the_message_names_the_opt_in(https_api):
    sleeps: list[float] = []
    client = ParallelClusterClient(https_api.url, region=REGION, retry=RetryPolicy(sleep=sleeps.append))
    with pytest.raises(TransportError, match=r"could not be verified .*certificate verify failed.*REQUESTS_CA_BUNDLE"):
        client.describe_official_images()
    assert sleeps == [], "a rejected certificate is not retried"
    assert https_api.counters.snapshot()["total"] == 0, "nothing reached the API"


def test_the_explicit_ca_bundle_is_trusted(https_api, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(https_api.ca))
    client = ParallelClusterClient(https_api.url, region=REGION)
    assert client.describe_official_images()["images"]
    assert https_api.counters.snapshot()["list_official_images"] == 1


def test_through_the_host_tls_fails_clearly_by_default_and_works_with_the_ca_bundle(https_api, figures):
    with ProviderHost(project=PROJECT, env=HOST_ENV) as host:
        image = Deployment(host, https_api)  # type: ignore[arg-type]  # only .url is used
        with pytest.raises(HostError, match="could not be verified"):
            image.up(image.program())
    assert https_api.counters.snapshot()["total"] == 0

    with ProviderHost(project=PROJECT, env={**HOST_ENV, "REQUESTS_CA_BUNDLE": str(https_api.ca)}) as host:
        image = Deployment(host, https_api)  # type: ignore[arg-type]
        image.up(image.program())
        assert image.outputs["image_build_status"] == "BUILD_COMPLETE"
        image.destroy()
    figures.add(tls_checks=3)


def test_no_code_path_turns_verification_off():
    package = Path(pulumi_pcimage.__file__).parent
    insecure = re.compile(r"verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|disable_warnings")
    offenders = [f"{path.relative_to(package)}:{n}" for path in package.rglob("*.py")
                 for n, line in enumerate(path.read_text().splitlines(), 1) if insecure.search(line)]
    assert offenders == []
