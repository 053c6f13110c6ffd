"""Redaction and the presigned host rule, over generated values."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from pulumi_pcimage.client import presigned_url_refusal
from pulumi_pcimage.redact import redact

SECRET = st.text(string.ascii_letters + string.digits + "/+%=-_.", min_size=8, max_size=80).filter(
    lambda s: s[0] not in "=/" and not s.startswith("REDACTED"))
NAMES = st.sampled_from(["X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token", "Signature",
                         "x-amz-security-token", "SessionToken", "aws_secret_access_key", "SecretAccessKey"])


@given(NAMES, SECRET, st.sampled_from(["{n}={s}&next=1", "'{n}': b'{s}'", '"{n}": "{s}"', "{n}:{s}\n", "{n} = {s}"]))
def test_a_named_secret_never_survives_redaction(name, secret, shape):
    text = "GET /config.yaml?a=1&" + shape.format(n=name, s=secret) + " HTTP/1.1"
    assert secret not in redact(text).replace("REDACTED", "")


@given(st.sampled_from(["SecretAccessKey", "SessionToken"]), SECRET)
def test_secrets_in_sts_answers_never_survive(element, secret):
    assert secret not in redact(f"<Credentials><{element}>{secret}</{element}></Credentials>")


@given(st.from_regex(r"\A[a-z0-9.-]{1,30}\Z"), st.sampled_from(["example.com", "amazonaws.com.evil", "internal",
                                                                    "s3.amazonaws.co", "localhost.evil"]))
def test_no_host_outside_amazonaws_is_taken_for_s3(label, domain):
    assert presigned_url_refusal(f"https://{label}.s3.{domain}/k") is not None
