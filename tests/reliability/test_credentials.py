"""Credentials: keys rotated during a build are picked up; every way signing can go wrong says which and what
to check, after a bounded number of requests."""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

import pytest

from pulumi_pcimage.emulator import Emulator
from tests.engine.conftest import PROJECT, Deployment, wait_for
from pulumi_pcimage.testing import CheckRejected, HostError, ProviderHost

from .conftest import ACCESS_KEY, FAST_POLLING, HOST_ENV, REGION, SECRET_KEY
from .leaks import SECRETS

ROTATIONS = 4
# Prints the key pair in current.json as an AWS credential_process does, expiring `ExpiresIn` seconds from now,
# and logs which access key it handed out.
CREDENTIAL_PROCESS = """\
import datetime, json, pathlib
here = pathlib.Path(__file__).parent
keys = json.loads((here / "current.json").read_text())
with open(here / "handed-out.log", "a") as log:
    log.write(keys["AccessKeyId"] + "\\n")
expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=keys.pop("ExpiresIn"))
print(json.dumps({"Version": 1, **keys, "Expiration": expires.isoformat()}))
"""


class CredentialSource:
    """A profile whose keys come from a credential_process reading a file the test rewrites (an SSO or STS
    session handing out new keys)."""

    def __init__(self, directory: Path, expires_in: float):
        self.directory, self.expires_in = directory, expires_in
        script = directory / "credential_process.py"
        script.write_text(CREDENTIAL_PROCESS)
        self.config_file = directory / "aws-config"
        self.config_file.write_text(f"[profile rotating]\nregion = {REGION}\ncredential_process = "
                                    f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}\n")

    def issue(self, access_key: str, secret_key: str) -> None:
        current = self.directory / "current.json"
        staged = current.with_suffix(".tmp")
        staged.write_text(json.dumps({"AccessKeyId": access_key, "SecretAccessKey": secret_key,
                                      "SessionToken": f"token-of-{access_key}", "ExpiresIn": self.expires_in}))
        os.replace(staged, current)  # the process never reads half a file

    def handed_out(self) -> list[str]:
        log = self.directory / "handed-out.log"
        return log.read_text().split() if log.exists() else []

    def host_env(self) -> dict[str, str]:
        return {**FAST_POLLING, "AWS_CONFIG_FILE": str(self.config_file), "AWS_PROFILE": "rotating",
                "AWS_SHARED_CREDENTIALS_FILE": str(self.directory / "no-credentials-file")}


@pytest.fixture
def no_env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment keys win over a profile: take them away so the profile's credential_process is used."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)


def key_pair(n: int) -> tuple[str, str]:
    return f"AKIAROTATED{n:09d}", f"rotated/secret/{n}/" + "x" * 24


def test_keys_rotated_several_times_during_one_build_are_picked_up(tmp_path, no_env_keys, figures):
    source = CredentialSource(tmp_path, expires_in=60)  # inside botocore's refresh window: asked before each use
    source.issue(*key_pair(0))
    # Builds until the test completes it, so every rotation certainly happens mid-build.
    with Emulator(build_seconds=3600, access_key=key_pair(0)[0], secret_key=key_pair(0)[1]) as emulator, \
            ProviderHost(project=PROJECT, env=source.host_env()) as host:
        image = Deployment(host, emulator)
        news = image.check(image.program())
        pending = host.create_async(image.urn, news)
        wait_for(lambda: emulator.counters()["describe_image"] >= 1, "the provider is waiting for the build")

        for n in range(1, ROTATIONS + 1):
            old, new = key_pair(n - 1), key_pair(n)
            emulator.set_credentials([old, new])  # as with STS, the old keys stay valid until the new ones are used
            source.issue(*new)
            wait_for(lambda new=new: new[0] in source.handed_out(), f"the provider fetched key pair {n}")
            emulator.set_credentials([new])  # from now on only the current pair is accepted
            polls = emulator.counters()["describe_image"]
            wait_for(lambda polls=polls: emulator.counters()["describe_image"] >= polls + 2,
                     "two polls with only the new keys")
        assert not pending.done(), "the build was still being waited for after the last rotation"

        emulator.complete_build(news["image_id"])
        image_id, outputs = pending.result(timeout=60)

    assert outputs["image_build_status"] == "BUILD_COMPLETE"
    assert emulator.counters()["auth_failures"] == 0
    assert [key_pair(n)[0] for n in range(ROTATIONS + 1)] == list(dict.fromkeys(source.handed_out()))
    figures.add(key_rotations=ROTATIONS)


def failed_up(host: ProviderHost, emulator: Emulator) -> str:
    """`pulumi up` of one image that must fail, already at its preview's check (an auth failure is certain); the
    message the user reads."""
    image = Deployment(host, emulator)
    with pytest.raises(CheckRejected) as failure:
        image.up(image.program())
    assert image.id == "" and emulator.counters()["builds_started"] == 0
    (prop, message), = failure.value.failures
    assert prop == "api_url"
    assert [what for what, secret in SECRETS.items() if secret in message] == [], "no secret in the message"
    return message


@pytest.mark.parametrize("case, env, expected", [
    ("wrong secret key", {"AWS_SECRET_ACCESS_KEY": "not/the/right/secret/key/at/all/000000"},
     ["signature we calculated does not match", "check the secret access key"]),
    ("unknown access key", {"AWS_ACCESS_KEY_ID": "AKIAREVOKED000000000"},
     ["security token included in the request is invalid", "refresh or replace the AWS credentials"]),
    ("wrong signing region", {"AWS_DEFAULT_REGION": "eu-west-1"},
     ["scoped to a valid region, not 'eu-west-1'", "signing region", "the API's own region"]),
])
def test_an_auth_failure_says_which_and_what_to_check_without_retrying(emulator, case, env, expected, figures):
    with ProviderHost(project=PROJECT, env={**HOST_ENV, **env}) as host:
        message = failed_up(host, emulator)
    for words in expected:
        assert words in message, f"{case}: {words!r} not in {message}"
    # One request, the preview's dry run, fails the check: never repeated, nothing built.
    assert emulator.counters()["auth_failures"] == emulator.counters()["total"] == 1
    figures.add(auth_failures_checked=1)


def test_a_clock_far_off_says_expired_and_check_the_clock(emulator, host, figures):
    emulator.verifier.clock = lambda: time.time() + 3600  # the API's clock is an hour ahead of ours
    message = failed_up(host, emulator)
    assert "Signature expired" in message and "check the system clock" in message
    assert emulator.counters()["auth_failures"] == emulator.counters()["total"] == 1
    figures.add(auth_failures_checked=1)


def test_expired_credentials_are_reported_before_anything_is_sent(tmp_path, no_env_keys, emulator, figures):
    source = CredentialSource(tmp_path, expires_in=-60)  # a stale SSO cache or session: expired on arrival
    source.issue(ACCESS_KEY, SECRET_KEY)
    with ProviderHost(project=PROJECT, env=source.host_env()) as host:
        message = failed_up(host, emulator)
    assert "expired" in message and "refresh the AWS credentials" in message, message
    assert emulator.counters()["total"] == 0
    figures.add(auth_failures_checked=1)


def test_keys_revoked_mid_build_end_the_wait_at_once_with_a_clear_message(emulator, host, figures):
    image = Deployment(host, emulator)
    pending = host.create_async(image.urn, image.check(image.program()))
    wait_for(lambda: emulator.counters()["describe_image"] >= 1, "the provider is waiting for the build")
    emulator.set_credentials([key_pair(99)])  # static keys, rotated away: the Terraform provider's hour-one failure
    with pytest.raises(HostError, match="security token included in the request is invalid.*refresh or replace"):
        pending.result(timeout=60)
    assert emulator.counters()["auth_failures"] == 1, "the wait stops at the first refusal"
    figures.add(auth_failures_checked=1)
