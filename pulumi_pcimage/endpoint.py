"""Where the ParallelCluster API is: explicit > stack config > environment > CloudFormation stack outputs.

The API is an API Gateway REST API deployed by the user (a CloudFormation stack whose output
``ParallelClusterApiInvokeUrl`` is the invoke URL, stage included). Its host name also tells the region
requests must be signed for, which is not necessarily the region the images live in.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from pulumi_pcimage.errors import EndpointNotConfigured

NAMESPACE = "pcimage"
CONFIG_API_URL = "apiUrl"
CONFIG_STACK_NAME = "apiStackName"
CONFIG_STACK_REGION = "apiStackRegion"
ENV_API_URL = "PCLUSTER_API_URL"
ENV_STACK_NAME = "PCLUSTER_API_STACK_NAME"
STACK_OUTPUT = "ParallelClusterApiInvokeUrl"

# <api-id>.execute-api.<region>.amazonaws.com[.cn], and private APIs' <api-id>-<vpce-id>.execute-api.<region>.vpce...
_API_HOST = re.compile(r"^[a-z0-9-]+\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$")

_WAYS = (
    "pass api_url explicitly; set stack config "
    f"`pulumi config set {NAMESPACE}:{CONFIG_API_URL} https://<id>.execute-api.<region>.amazonaws.com/prod`; "
    f"set the environment variable {ENV_API_URL}; "
    f"or name the CloudFormation stack that deployed the API with `{NAMESPACE}:{CONFIG_STACK_NAME}` "
    f"(or {ENV_STACK_NAME}, optionally `{NAMESPACE}:{CONFIG_STACK_REGION}`) so its output {STACK_OUTPUT} is used"
)


def api_region(api_url: str) -> str | None:
    """The AWS region in an API Gateway host name, or None for any other host (custom domain, emulator)."""
    match = _API_HOST.match((urlsplit(api_url).hostname or "").lower())
    return match.group(1) if match else None


def default_region(profile: str | None = None, configured: str | None = None) -> str | None:
    """The region an image lives in when none is given: `configured` (the stack's `aws:region`), AWS_REGION,
    AWS_DEFAULT_REGION, else the region the AWS profile sets (shared config file)."""
    found = configured or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if found:
        return found
    import boto3
    import botocore.exceptions

    try:
        return boto3.Session(profile_name=profile).region_name or None
    except botocore.exceptions.BotoCoreError:  # an unknown profile: signing will say so with a better message
        return None


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address  # ::ffff:169.254.169.254 is 169.254.169.254


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: traffic that never leaves the machine."""
    host = host.lower().rstrip(".")
    address = _ip(host)
    return address.is_loopback if address else host == "localhost" or host.endswith(".localhost")


def normalize_api_url(url: str, source: str = "api_url") -> str:
    """Scheme and host checked, trailing slashes stripped, a trailing ``/v3[/...]`` cut back to the stage.

    https is required except on loopback (the local emulator): over plain http the signature and the session
    token travel in clear text and can be replayed for minutes. A user:password@ part is refused (it would be
    stored in the Pulumi state), and so is a link-local host (the instance metadata service).
    """
    text = str(url).strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise EndpointNotConfigured(f"{source} is not a valid URL: {exc}") from None
    if parts.username is not None or parts.password is not None:
        raise EndpointNotConfigured(
            f"{source} must not carry user:password@ (it would be stored in the Pulumi state, and the API "
            "authenticates with SigV4, not passwords): remove it from the URL")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointNotConfigured(
            f"{source} {text!r} must be an http(s) URL with a host, "
            f"e.g. https://abc123.execute-api.us-east-1.amazonaws.com/prod")
    if parts.query or parts.fragment:
        raise EndpointNotConfigured(f"{source} {text!r} must not carry a query string or fragment")
    address = _ip(parts.hostname)
    if address is not None and (address.is_link_local or address.is_unspecified or address.is_multicast):
        raise EndpointNotConfigured(
            f"{source} {text!r} points at {address}, a link-local, unspecified or multicast address (such as the "
            "instance metadata service), never the ParallelCluster API")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise EndpointNotConfigured(
            f"{source} {text!r} must be https: over plain http the request signature and the session token travel "
            "in clear text (http is accepted only for loopback, i.e. the local emulator)")
    segments = parts.path.split("/")
    if "v3" in segments:  # the API's own paths all start with /v3: what precedes it is the stage
        segments = segments[:segments.index("v3")]
    path = "/".join(segments).rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _config_value(config: Any, key: str) -> Any:
    if config is None:
        return None
    full = f"{NAMESPACE}:{key}"
    if isinstance(config, Mapping):  # the provider host's raw stack config
        return config.get(full) or config.get(f"{NAMESPACE}:config:{key}")
    from pulumi.dynamic import Config as ProviderConfig

    if isinstance(config, ProviderConfig):  # namespaces short keys with the *project* name, not ours
        return config.get(full)
    return config.get(key)  # pulumi.Config("pcimage")


def resolve_api_url(explicit: str | None = None, *, config: Any = None,
                    environ: Mapping[str, str] | None = None, session: Any = None) -> str:
    """The normalised API URL from the first source that is set; EndpointNotConfigured listing all four if none is."""
    env = os.environ if environ is None else environ
    for source, value in (("api_url", explicit),
                          (f"stack config {NAMESPACE}:{CONFIG_API_URL}", _config_value(config, CONFIG_API_URL)),
                          (f"environment variable {ENV_API_URL}", env.get(ENV_API_URL))):
        if value:
            return normalize_api_url(value, source)
    stack = _config_value(config, CONFIG_STACK_NAME) or env.get(ENV_STACK_NAME)
    if stack:
        url = stack_invoke_url(stack, region=_config_value(config, CONFIG_STACK_REGION), session=session)
        return normalize_api_url(url, f"output {STACK_OUTPUT} of stack {stack!r}")
    raise EndpointNotConfigured(f"the ParallelCluster API endpoint is not configured: {_WAYS}")


def stack_invoke_url(stack_name: str, *, region: str | None = None, session: Any = None) -> str:
    """The ``ParallelClusterApiInvokeUrl`` output of the stack that deployed the API (boto3 describe_stacks)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = session or boto3.Session()
    where = f"CloudFormation stack {stack_name!r} in {region or session.region_name or '(no region set)'}"
    try:
        stacks = session.client("cloudformation", region_name=region).describe_stacks(
            StackName=stack_name)["Stacks"]
    except (BotoCoreError, ClientError) as exc:
        raise EndpointNotConfigured(
            f"cannot read the API endpoint from {where}: {exc}; set {NAMESPACE}:{CONFIG_STACK_REGION} "
            f"if the stack lives in another region, or set {NAMESPACE}:{CONFIG_API_URL} directly") from None
    for output in stacks[0].get("Outputs", []) if stacks else []:
        if output.get("OutputKey") == STACK_OUTPUT:
            return output["OutputValue"]
    raise EndpointNotConfigured(f"{where} has no output {STACK_OUTPUT}: is it the ParallelCluster API stack?")


def host_of(url: str, base: str | None = None) -> str:
    """scheme://host[:port] of `url` (resolved against `base`): never its path or query, which may carry a signature."""
    try:
        parts = urlsplit(urljoin(base, url) if base else url)
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}" if parts.hostname \
            else "(no host)"
    except ValueError:
        return "(an unreadable URL)"
