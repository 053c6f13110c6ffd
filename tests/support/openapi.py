"""The released ParallelCluster API spec (aws-parallelcluster 3.16.1) as an openapi-core validator.

The wheel's ``pcluster/api/openapi/openapi.yaml`` is read as a resource, without importing its heavy
dependencies. The spec's server is ``/``, so the stage prefix (``/prod``) is cut off before matching.
"""

from __future__ import annotations

import functools
from importlib import resources
from urllib.parse import urlsplit, urlunsplit

import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse


def spec_text() -> str:
    return resources.files("pcluster.api.openapi").joinpath("openapi.yaml").read_text()


@functools.lru_cache(maxsize=1)
def openapi() -> OpenAPI:
    import yaml
    from jsonschema_path import SchemaPath

    return OpenAPI(SchemaPath.from_dict(yaml.safe_load(spec_text())))


def _without_stage(request: requests.PreparedRequest) -> requests.PreparedRequest:
    parts = urlsplit(request.url)
    path = parts.path
    index = path.find("/v3/")
    copy = request.copy()
    copy.url = urlunsplit((parts.scheme, parts.netloc, path[index:] if index >= 0 else path, parts.query, ""))
    return copy


def validate_request(request: requests.PreparedRequest) -> None:
    """Raise an openapi-core error unless method, path, query and body match the released spec."""
    openapi().validate_request(RequestsOpenAPIRequest(_without_stage(request)))


def validate_response(request: requests.PreparedRequest, response: requests.Response) -> None:
    """Raise an openapi-core error unless the response's status and body match the released spec."""
    openapi().validate_response(RequestsOpenAPIRequest(_without_stage(request)),
                                RequestsOpenAPIResponse(response))
