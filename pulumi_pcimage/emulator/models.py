"""The image lifecycle of the ParallelCluster API as a plain object: no HTTP, an injectable clock.

Reference behaviour: `pcluster/api/controllers/image_operations_controller.py` and `pcluster/models/imagebuilder.py`
of aws-parallelcluster 3.16.1. Each operation returns the response body as a dict or raises `ApiException`.
Progress is a function of the clock and the stored absolute times, so nothing runs in the background.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from datetime import datetime, timezone
from typing import Any
from collections.abc import Callable
from urllib.parse import urlencode

import yaml

from .. import regions
from .. import pcluster_schema
from . import catalog
from .store import ImageRecord, Store

Clock = Callable[[], float]

LEVELS = ["INFO", "WARNING", "ERROR"]
SPEC_IMAGE_ID = "^[a-zA-Z][a-zA-Z0-9-]+$"  # the released spec's pattern, checked on every route
IMAGE_ID = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{0,127}$")  # ImageBuilder._validate_id: at most 128 characters
SUPPRESSOR = "^(ALL|type:[A-Za-z0-9]+)$"
PARENT_IMAGE = re.compile(r"^ami|arn")
TOP_LEVEL_KEYS = ["Image", "Build", "DevSettings", "Region", "CustomS3Bucket", "DeploymentSettings"]
STATUS_FILTERS = ["AVAILABLE", "PENDING", "FAILED"]
CONFIG_URL_SECONDS = 3600
# Share of the build spent in each EC2 Image Builder phase before distribution.
PHASES = [(0.1, "PENDING"), (0.6, "BUILDING"), (0.85, "TESTING"), (1.0, "DISTRIBUTING")]


class ApiException(Exception):
    """An error answer of the API: status, JSON body and extra headers."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(body.get("message", ""))
        self.status, self.body, self.headers = status, body, headers or {}


# marshmallow's words for what pcluster_schema finds (AWS reports the marshmallow errors as they are).
_MARSHMALLOW = {"unknown key": "Unknown field.", pcluster_schema.REQUIRED: "Missing data for required field."}


def _marshmallow_keys(path: str) -> list[str | int]:
    """`Build.Components[0].Type` as marshmallow keys its errors: ["Build", "Components", 0, "Type"]."""
    keys: list[str | int] = []
    for part in path.split("."):
        name, *indexes = part.split("[")
        keys.append(name)
        keys += [int(index.rstrip("]")) for index in indexes]
    return keys


def bad_request(message: str) -> ApiException:
    return ApiException(400, {"message": f"Bad Request: {message}"})


def not_found(message: str) -> ApiException:
    return ApiException(404, {"message": message})


def build_bad_request(message: str, errors: list[dict[str, Any]]) -> ApiException:
    body: dict[str, Any] = {"message": message}
    if errors:
        body["configurationValidationErrors"] = errors
    return ApiException(400, body)


def finding(validator: str, level: str, message: str) -> dict[str, str]:
    """One ConfigValidationMessage, as AWS sends it: the spec's optional `id` is never set."""
    return {"level": level, "type": validator, "message": message}


def internal_error(message: str) -> ApiException:
    """AWS's convert_errors turns any unexpected exception into a 500 carrying its text."""
    return ApiException(500, {"message": message})


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_bool(name: str, value: str | None) -> bool:
    if value is None:
        return False
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise bad_request(f"Wrong type, expected 'boolean' for query parameter '{name}'")  # connexion's words


class ConfigUrls:
    """Presigned, expiring URLs for the stored image configurations (what S3 presigning gives the real API)."""

    def __init__(self, secret: bytes, clock: Clock):
        self.secret, self.clock = secret, clock

    def _signature(self, region: str, image_id: str, expires: int) -> str:
        return hmac.new(self.secret, f"{region}/{image_id}/{expires}".encode(), hashlib.sha256).hexdigest()

    def sign(self, base_url: str, region: str, image_id: str) -> str:
        expires = int(self.clock()) + CONFIG_URL_SECONDS
        query = urlencode({"region": region, "Expires": expires,
                           "Signature": self._signature(region, image_id, expires)})
        return f"{base_url}/_emulator/configs/{image_id}/image-config.yaml?{query}"

    def check(self, region: str, image_id: str, expires: str, signature: str) -> None:
        try:
            deadline = int(expires)
        except ValueError:
            raise ApiException(403, {"message": "Invalid Expires: not an integer"}) from None
        if not hmac.compare_digest(self._signature(region, image_id, deadline), signature):
            raise ApiException(403, {"message": "The request signature we calculated does not match the signature "
                                                "you provided."})
        if self.clock() > deadline:
            raise ApiException(403, {"message": f"Request has expired (Expires {iso(deadline)})"})


class ImageService:
    """Every image operation of the API, over a Store, in one or more regions."""

    def __init__(self, store: Store, *, clock: Clock = time.time, region: str = "us-east-1",
                 build_seconds: float = 2.0, delete_seconds: float = 0.5, page_size: int = 10,
                 sparse_pages: bool = True):
        self.store, self.clock, self.region = store, clock, region
        self.sparse_pages = sparse_pages
        self.build_seconds, self.delete_seconds, self.page_size = build_seconds, delete_seconds, page_size
        self.urls = ConfigUrls(store.meta("config_url_secret", secrets.token_hex(32)).encode(), clock)

    # ---- helpers -------------------------------------------------------------------------------------------------

    def _region(self, region: str | None) -> str:
        if region is None or region == "":
            return self.region
        if not regions.is_supported(region):
            raise bad_request(regions.unsupported_message(region))
        return region

    def _find(self, region: str, image_id: str) -> ImageRecord | None:
        self.store.purge_deleted(self.clock())
        return self.store.get(region, image_id)

    def _existing(self, region: str | None, image_id: str, missing: str | None = None) -> ImageRecord:
        """The image, or AWS's 404 (`missing` is the operation's own wording of it)."""
        if not re.match(SPEC_IMAGE_ID, image_id):  # connexion checks the spec's pattern only, not the length
            raise bad_request(f"'{image_id}' does not match '{SPEC_IMAGE_ID}'")
        record = self._find(self._region(region), image_id)
        if record is None:
            raise not_found(missing or f"No image or stack associated with ParallelCluster image id: {image_id}.")
        return record

    @staticmethod
    def _no_logs(image_id: str) -> str:
        return f"Unable to find image logs, please double check if image id={image_id} is correct."

    def state(self, record: ImageRecord, now: float | None = None) -> str:
        """'building', 'complete', 'failed' or 'deleting' at `now` (default: the current time).

        An answer that reports one image twice must read the clock once: a build ending between two reads would
        otherwise be both in progress and complete within one answer.
        """
        now = self.clock() if now is None else now
        if record.delete_started_at is not None:
            return "deleting"
        if now < record.ends_at:
            return "building"
        return record.outcome

    @staticmethod
    def _phase(record: ImageRecord, now: float) -> str:
        span = max(record.ends_at - record.created_at, 1e-9)
        done = (now - record.created_at) / span
        return next(name for limit, name in PHASES if done < limit or limit == 1.0)

    @staticmethod
    def _stack_status(record: ImageRecord, state: str) -> str:
        return {"building": "CREATE_IN_PROGRESS", "deleting": "DELETE_IN_PROGRESS",
                "failed": "ROLLBACK_COMPLETE" if record.rollback else "CREATE_FAILED"}[state]

    @staticmethod
    def _config(record: ImageRecord) -> dict[str, Any]:
        return yaml.safe_load(record.config)

    def _tags(self, record: ImageRecord) -> list[dict[str, str]]:
        """ParallelCluster's own tags, in its order (ImageBuilder._get_cfn_tags / CDK _get_image_tags)."""
        directory = catalog.artifact_dir(record.region, record.image_id, record.created_at)
        config = self._config(record)
        tags = {
            "parallelcluster:image_name": (config.get("Image") or {}).get("Name") or record.image_id,
            "parallelcluster:version": catalog.VERSION,
            "parallelcluster:image_id": record.image_id,
            "parallelcluster:s3_bucket": catalog.bucket(record.region),
            "parallelcluster:s3_image_dir": directory,
            "parallelcluster:build_log": catalog.log_group_arn(record.region, record.image_id),
            "parallelcluster:build_config": f"s3://{catalog.bucket(record.region)}/{directory}/configs/"
                                            "image-config.yaml",
        }
        return [{"key": key, "value": value} for key, value in tags.items()]

    @staticmethod
    def _config_tags(section: Any) -> list[dict[str, str]]:
        return [{"key": str(tag.get("Key")), "value": str(tag.get("Value"))}
                for tag in (section or {}).get("Tags") or []]

    def _stack_tags(self, record: ImageRecord) -> list[dict[str, str]]:
        """The build stack's tags: the configuration's Build.Tags first, then ParallelCluster's."""
        return self._config_tags(self._config(record).get("Build")) + self._tags(record)

    @staticmethod
    def _ami_id(record: ImageRecord) -> str:
        return "ami-" + catalog.digest("ami", record.region, record.image_id, record.created_at, length=17)

    def _ami_name(self, record: ImageRecord) -> str:
        """Image.Name (else the id) + Image Builder's `{{ imagebuilder:buildDate }}`, as the recipe names it."""
        build_date = datetime.fromtimestamp(record.ends_at, timezone.utc).strftime("%Y-%m-%dT%H-%M-%S.%f")
        return f"{(self._config(record).get('Image') or {}).get('Name') or record.image_id} {build_date[:-3]}Z"

    def _architecture(self, record: ImageRecord) -> str:
        return catalog.architecture_of(self._config(record)["Build"]["InstanceType"])

    def _ami(self, record: ImageRecord) -> dict[str, Any]:
        """The AMI's tags: Image.Tags, ParallelCluster's, Image Builder's ARN, then the two its cleanup Lambda adds."""
        config = self._config(record)
        return {
            "amiId": self._ami_id(record),
            "amiName": self._ami_name(record),
            "state": "AVAILABLE",
            "tags": self._config_tags(config.get("Image")) + self._tags(record) + [
                {"key": "Ec2ImageBuilderArn", "value": self._imagebuilder_arn(record)},
                {"key": "parallelcluster:build_status", "value": "available"},
                {"key": "parallelcluster:parent_image", "value": str(config["Build"]["ParentImage"])}],
            "architecture": self._architecture(record),
        }

    @staticmethod
    def _imagebuilder_arn(record: ImageRecord) -> str:
        return (f"arn:aws:imagebuilder:{record.region}:{catalog.ACCOUNT}:image/"
                f"parallelclusterimage-{record.image_id.lower()}/{catalog.VERSION}/1")

    def _summary(self, record: ImageRecord, state: str) -> dict[str, Any]:
        """ImageInfoSummary, as list_images and build_image return it, for the image in `state`."""
        summary: dict[str, Any] = {"imageId": record.image_id, "region": record.region, "version": catalog.VERSION}
        if state == "complete":
            summary.update(imageBuildStatus="BUILD_COMPLETE", ec2AmiInfo={"amiId": self._ami_id(record)})
        else:
            stack_status = self._stack_status(record, state)
            summary.update(imageBuildStatus={"CREATE_IN_PROGRESS": "BUILD_IN_PROGRESS",
                                             "DELETE_IN_PROGRESS": "DELETE_IN_PROGRESS"}.get(stack_status,
                                                                                              "BUILD_FAILED"),
                           cloudformationStackStatus=stack_status,
                           cloudformationStackArn=catalog.stack_arn(record.region, record.image_id,
                                                                    record.created_at))
        return summary

    # ---- build_image ---------------------------------------------------------------------------------------------

    def validate(self, image_id: Any, config_text: Any, suppress: list[str], failure_level: str | None,
                 region: str | None) -> tuple[str, list[dict[str, Any]]]:
        """Check a build request in AWS's order; return (region, findings that do not fail it) or raise.

        AWS's order (pcluster.api.controllers.image_operations_controller.build_image): the request against the
        spec (one `{"message"}` for the first problem), the region, the YAML (a parse error is a 500 there), the
        id's length, the id being free (409, whatever the configuration says), then the configuration.
        """
        if not isinstance(image_id, str):
            raise bad_request("'imageId' is a required property" if image_id is None
                              else f"{image_id!r} is not of type 'string' - 'imageId'")
        if not isinstance(config_text, str):
            raise bad_request("'imageConfiguration' is a required property" if config_text is None
                              else f"{config_text!r} is not of type 'string' - 'imageConfiguration'")
        if not re.match(SPEC_IMAGE_ID, image_id):
            raise bad_request(f"'{image_id}' does not match '{SPEC_IMAGE_ID}' - 'imageId'")
        for item in suppress:
            if not re.match(SUPPRESSOR, item):
                raise bad_request(f"'{item}' does not match '{SUPPRESSOR}'")
        if failure_level is not None and failure_level not in LEVELS:
            raise bad_request(f"'{failure_level}' is not one of {LEVELS}")

        config_region = self._config_region(config_text)
        if region and config_region and region != config_region:
            raise bad_request("region is set in both parameter and configuration and conflicts.")
        region = self._region(region or config_region)
        try:
            config = self._read_like_aws(config_text)
        except (yaml.YAMLError, AttributeError) as exc:
            raise internal_error(str(exc)) from None
        if not config_text:
            raise bad_request("configuration is required and cannot be empty")
        if not IMAGE_ID.match(image_id):
            raise ApiException(400, {"message": f"Image id '{image_id}' failed to satisfy constraint: The process id "
                                                "can contain only alphanumeric characters (case-sensitive) and "
                                                "hyphens. It must start with an alphabetic character and can't be "
                                                "longer than 128 characters."})
        # AWS's ImageBuilder.validate_create_request checks that the id is free before it validates the
        # configuration: a taken id answers 409 whatever the configuration says, dry run or not.
        existing = self._find(region, image_id)
        if existing is not None:
            raise self._conflict(existing)

        schema_errors = self._schema_errors(config)
        if schema_errors:
            raise build_bad_request("Invalid image configuration.",
                                    [finding("ImageSchemaValidator", "ERROR", str(sorted(schema_errors.items())))])
        findings = [f for f in self._validator_findings(config, region) if not self._suppressed(f, suppress)]
        threshold = LEVELS.index(failure_level or "ERROR")
        if any(LEVELS.index(f["level"]) >= threshold for f in findings):
            raise build_bad_request("Configuration is invalid", findings)
        return region, findings

    @staticmethod
    def _read_like_aws(config_text: str) -> Any:
        """What AWS's build_image reads before its error handling; a failure there is its 500."""
        config = yaml.safe_load(config_text) or {}
        if not config.get("Build", {}).get("Iam", {}).get("CleanupLambdaRole"):
            config.get("DeploymentSettings", {}).get("LambdaFunctionsVpcConfig")
        return config

    @staticmethod
    def _config_region(config_text: str) -> str | None:
        try:
            config = yaml.safe_load(config_text)
        except yaml.YAMLError:
            return None
        region = config.get("Region") if isinstance(config, dict) else None
        return region if isinstance(region, str) else None

    @staticmethod
    def _suppressed(found: dict[str, str], suppress: list[str]) -> bool:
        return "ALL" in suppress or f"type:{found['type']}" in suppress

    @staticmethod
    def _schema_errors(config: dict[str, Any]) -> dict[str, Any]:
        """The marshmallow errors of AWS's ImageBuilderSchema for what the emulator models, keyed as marshmallow
        keys them (AWS reports `str(sorted(errors.items()))` as one ImageSchemaValidator message)."""
        required = "Missing data for required field."
        errors: dict[str, Any] = {str(key): ["Unknown field."] for key in config if key not in TOP_LEVEL_KEYS}
        build = config.get("Build")
        if build is None:
            errors["Build"] = [required]
        elif not isinstance(build, dict):
            errors["Build"] = {"_schema": ["Invalid input type."]}
        else:
            build_errors: dict[str, list[str]] = {}
            for key in ("InstanceType", "ParentImage"):
                if key not in build:
                    build_errors[key] = [required]
                elif not isinstance(build[key], str):
                    build_errors[key] = ["Not a valid string."]
            parent = build.get("ParentImage")
            if isinstance(parent, str) and not PARENT_IMAGE.match(parent):
                build_errors["ParentImage"] = ["String does not match expected pattern."]
            if build_errors:
                errors["Build"] = build_errors
        image = config.get("Image")
        if image is not None and not isinstance(image, dict):
            errors["Image"] = {"_schema": ["Invalid input type."]}
        # Below the top level, every key and type the 3.16.1 schema knows (unknown keys are refused at any depth).
        # marshmallow reports a schema's own fields first and unknown keys after them.
        found, modelled = pcluster_schema.problems(config), set(errors)  # the sections checked above stay as they are
        for path, message in sorted(found, key=lambda problem: problem[1].startswith("unknown key")):
            keys = _marshmallow_keys(path)
            if len(keys) < 2 or keys[0] in modelled:
                continue
            node: dict[Any, Any] = errors  # marshmallow keys list items by index: str or int keys
            for part in keys[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    break
            else:
                node.setdefault(keys[-1], [_MARSHMALLOW.get(message.split(";")[0], "Invalid value.")])
        return errors

    def parent_image(self, region: str, image: str) -> dict[str, str] | None:
        """A parent image that exists in `region`: official, registered by a test, or built here."""
        known = catalog.official_image(region, image) or self.store.parent_image(region, image)
        if known:
            return known
        for record in self.store.all(region):
            if self.state(record) == "complete" and self._ami_id(record) == image:
                return {"amiId": image, "architecture": self._architecture(record), "name": self._ami_name(record)}
        return None

    def register_parent_image(self, image: str, architecture: str = "x86_64", name: str | None = None,
                              region: str | None = None) -> None:
        """Make an AMI exist in a region, as a customer's own base AMI does (usable as Build.ParentImage)."""
        if not PARENT_IMAGE.match(image):
            raise bad_request(f"parent image '{image}' must be an AMI id (ami-...) or an image ARN")
        if architecture not in catalog.SUPPORTED_ARCHITECTURES:
            raise bad_request(f"architecture '{architecture}' is not one of {catalog.SUPPORTED_ARCHITECTURES}")
        self.store.add_parent_image(self._region(region), image, architecture, name or image)

    def _validator_findings(self, config: dict[str, Any], region: str) -> list[dict[str, str]]:
        """InstanceTypeBaseAMICompatibleValidator, the one 3.16.1 validator every configuration meets (the others
        need keys this emulator does not model); same checks, levels and messages, in AWS's order."""
        build = config["Build"]
        instance_type, image = build["InstanceType"], build["ParentImage"]
        found = []
        parent = self.parent_image(region, image)
        if parent is None:
            found.append(finding("InstanceTypeBaseAMICompatibleValidator", "ERROR", f"Invalid image '{image}'."))
        if not catalog.is_instance_type(instance_type):
            found.append(finding("InstanceTypeBaseAMICompatibleValidator", "ERROR",
                                 f"The instance type '{instance_type}' is not supported."))
        elif parent and parent["architecture"] != catalog.architecture_of(instance_type):
            found.append(finding(
                "InstanceTypeBaseAMICompatibleValidator", "ERROR",
                f"AMI {parent['amiId']}'s architecture ({parent['architecture']}) is incompatible with the "
                f"architecture supported by the instance type {instance_type} chosen "
                f"(['{catalog.architecture_of(instance_type)}']). Use either a different AMI or a different "
                "instance type."))
        return found

    def build_image(self, image_id: Any, config_text: Any, *, suppress: list[str] | None = None,
                    failure_level: str | None = None, dryrun: bool = False, rollback: bool = False,
                    region: str | None = None) -> dict[str, Any]:
        suppress = suppress or []
        region, messages = self.validate(image_id, config_text, suppress, failure_level, region)
        if dryrun:  # AWS's DryrunOperationException carries its message only, never the findings
            raise ApiException(412, {"message": "Request would have succeeded, but DryRun flag is set."})
        now = self.clock()
        record = ImageRecord(region=region, image_id=image_id, config=config_text, created_at=now,
                             ends_at=now + self.build_seconds, rollback=rollback, messages=messages)
        if not self.store.insert(record):  # a concurrent build of the same id won the race
            raise self._conflict(self.store.get(region, image_id))
        response: dict[str, Any] = {"image": self._summary(record, "building")}
        if messages:
            response["validationMessages"] = messages
        return response

    def _conflict(self, existing: ImageRecord | None) -> ApiException:
        if existing is not None and self.state(existing) == "complete":
            message = f"ParallelCluster image {existing.image_id} already exists."
        else:
            image_id = existing.image_id if existing else "?"
            message = (f"ParallelCluster build infrastructure for image {image_id} or a CloudFormation Stack with "
                       "the same name already exists.")
        return ApiException(409, {"message": message})

    # ---- describe / delete / list --------------------------------------------------------------------------------

    def describe_image(self, image_id: str, region: str | None = None, base_url: str = "") -> dict[str, Any]:
        record = self._existing(region, image_id)
        now = self.clock()
        state = self.state(record, now)
        body: dict[str, Any] = {
            "imageId": image_id,
            "region": record.region,
            "version": catalog.VERSION,
            "imageConfiguration": {"url": self.urls.sign(base_url, record.region, image_id)},
        }
        if state == "complete":
            # the AMI's CreationDate, which EC2 gives to the second
            body.update(imageBuildStatus="BUILD_COMPLETE", creationTime=iso(int(record.ends_at)),
                        ec2AmiInfo=self._ami(record))
            return body
        body.update(self._summary(record, state))
        body.update(imageBuildLogsArn=catalog.log_group_arn(record.region, image_id),
                    cloudformationStackCreationTime=iso(record.created_at),
                    cloudformationStackTags=self._stack_tags(record))
        if state == "building":
            body["imagebuilderImageStatus"] = self._phase(record, now)
        elif state == "failed":
            body.update(imagebuilderImageStatus="FAILED", imagebuilderImageStatusReason=record.reason,
                        cloudformationStackStatusReason="The following resource(s) failed to create: "
                                                        "[ParallelClusterImage]. "
                                                        + ("Rollback requested by user." if record.rollback else ""))
        elif state == "deleting":
            body["cloudformationStackStatusReason"] = "User Initiated"
        return body

    def delete_image(self, image_id: str, region: str | None = None, force: bool = False) -> dict[str, Any]:
        record = self._existing(region, image_id)
        state = self.state(record)
        if state == "building":
            raise bad_request("Image cannot be deleted because EC2 ImageBuilder Image has a running workflow.")
        if state == "complete" and record.in_use and not force:
            instance = "i-" + catalog.digest("instance", record.region, image_id, length=17)
            raise bad_request(f"Unable to delete image and stack: Image {image_id} is used by instances "
                              f"['{instance}'].")
        summary: dict[str, Any] = {"imageId": image_id, "imageBuildStatus": "DELETE_IN_PROGRESS",
                                   "region": record.region, "version": catalog.VERSION}
        if state == "complete":
            # AWS deregisters the AMI at once (the build stack is long gone): from now on the id is unknown.
            self.store.delete(record.region, image_id)
            return {"image": summary}
        if state != "deleting":
            now = self.clock()
            record.delete_started_at, record.delete_ends_at = now, now + self.delete_seconds
            self.store.update(record.region, image_id, delete_started_at=record.delete_started_at,
                              delete_ends_at=record.delete_ends_at)
        summary.update(cloudformationStackStatus="DELETE_IN_PROGRESS",
                       cloudformationStackArn=catalog.stack_arn(record.region, image_id, record.created_at))
        return {"image": summary}

    def list_images(self, image_status: str | None, region: str | None = None,
                    next_token: str | None = None) -> dict[str, Any]:
        if image_status is None:
            raise bad_request("Missing query parameter 'imageStatus'")
        if image_status not in STATUS_FILTERS:
            raise bad_request(f"'{image_status}' is not one of {STATUS_FILTERS}")
        region = self._region(region)
        now = self.clock()
        self.store.purge_deleted(now)
        records = [(r, self.state(r, now)) for r in self.store.all(region)]
        if image_status == "AVAILABLE":  # the real API lists AMIs unpaged
            return {"images": [self._summary(r, state) for r, state in records if state == "complete"]}
        wanted = "building" if image_status == "PENDING" else "failed"
        after = self._decode_token(next_token)
        if self.sparse_pages:  # AWS pages over every build stack, then filters the page: it can come back empty
            candidates = [(r, s) for r, s in records if s != "complete" and (r.seq or 0) > after]
        else:
            candidates = [(r, s) for r, s in records if s == wanted and (r.seq or 0) > after]
        page = candidates[:self.page_size]
        response: dict[str, Any] = {"images": [self._summary(r, state) for r, state in page if state == wanted]}
        if len(candidates) > self.page_size:
            response["nextToken"] = base64.urlsafe_b64encode(json.dumps({"after": page[-1][0].seq}).encode()).decode()
        return response

    @staticmethod
    def _decode_token(token: str | None) -> int:
        if not token:
            return 0
        try:
            after = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
            if isinstance(after, int):
                return after
        except (ValueError, KeyError, TypeError, binascii.Error):
            pass
        raise bad_request(f"nextToken '{token}' is not a token returned by this API")

    def list_official_images(self, region: str | None = None, os: str | None = None,
                             architecture: str | None = None) -> dict[str, Any]:
        region = self._region(region)  # AWS checks the region before the filters
        problems = []
        if os is not None and os not in catalog.SUPPORTED_OSES:
            problems.append(f"{os} is not one of {catalog.SUPPORTED_OSES}")
        if architecture is not None and architecture not in catalog.SUPPORTED_ARCHITECTURES:
            problems.append(f"{architecture} is not one of {catalog.SUPPORTED_ARCHITECTURES}")
        if problems:
            raise bad_request("; ".join(problems))
        return {"images": [image for image in catalog.official_images(region)
                           if os in (None, image["os"]) and architecture in (None, image["architecture"])]}

    def image_config(self, image_id: str, region: str | None, expires: str, signature: str) -> str:
        """The stored configuration, byte for byte, behind a presigned URL."""
        region = self._region(region)
        self.urls.check(region, image_id, expires, signature)
        record = self._find(region, image_id)
        if record is None:
            raise ApiException(404, {"message": "The specified key does not exist."})
        return record.config

    # ---- diagnostics: stack events and logs ----------------------------------------------------------------------

    def get_image_stack_events(self, image_id: str, region: str | None = None) -> dict[str, Any]:
        no_stack = f"CloudFormation Stack for Image {image_id} does not exist."
        record = self._existing(region, image_id, no_stack)
        now = self.clock()
        state = self.state(record, now)
        if state == "complete":  # the build stack deleted itself after success
            raise not_found(no_stack)
        stack_id = catalog.stack_arn(record.region, image_id, record.created_at)
        t0 = record.created_at

        def event(at: float, logical: str, kind: str, status: str, reason: str | None = None) -> dict[str, Any]:
            physical = stack_id if logical == image_id else f"{logical}-{catalog.digest(logical, stack_id, length=12)}"
            item = {"eventId": f"{logical}-{status}-{catalog.digest(stack_id, logical, status, length=12)}",
                    "logicalResourceId": logical, "physicalResourceId": physical, "resourceStatus": status,
                    "resourceType": kind, "stackId": stack_id, "stackName": image_id, "timestamp": iso(at)}
            if reason:
                item["resourceStatusReason"] = reason
            return item

        events = [event(t0, image_id, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"),
                  event(t0, "InfrastructureConfiguration", "AWS::ImageBuilder::InfrastructureConfiguration",
                        "CREATE_COMPLETE"),
                  event(t0, "ParallelClusterImage", "AWS::ImageBuilder::Image", "CREATE_IN_PROGRESS")]
        if state in ("failed", "deleting") and now >= record.ends_at and record.outcome == "failed":
            t1 = record.ends_at
            events.append(event(t1, "ParallelClusterImage", "AWS::ImageBuilder::Image", "CREATE_FAILED",
                                f"Resource handler returned message: \"{record.reason}\""))
            if record.rollback:
                events.append(event(t1, "ParallelClusterImage", "AWS::ImageBuilder::Image", "DELETE_COMPLETE"))
                events.append(event(t1, "InfrastructureConfiguration",
                                    "AWS::ImageBuilder::InfrastructureConfiguration", "DELETE_COMPLETE"))
            else:
                events.append(event(t1, image_id, "AWS::CloudFormation::Stack", "CREATE_FAILED",
                                    "The following resource(s) failed to create: [ParallelClusterImage]. "))
        if state == "deleting":
            events.append(event(record.delete_started_at or now, image_id, "AWS::CloudFormation::Stack",
                                "DELETE_IN_PROGRESS", "User Initiated"))
        return {"events": list(reversed(events))}  # CloudFormation lists the newest first

    def _log_lines(self, record: ImageRecord) -> list[tuple[float, str]]:
        t0, t1, now = record.created_at, record.ends_at, self.clock()
        span = t1 - t0
        lines = [(t0, "Stage: build; Action: ExecuteBashScript (ParallelCluster bootstrap) started"),
                 (t0 + span * 0.1, "Installing ParallelCluster cookbook"),
                 (t0 + span * 0.6, "Stage: test; running validation tests"),
                 (t0 + span * 0.85, "Distributing image")]
        if record.outcome == "failed":
            lines = [line for line in lines if line[0] < t1] + [(t1, f"Build failed: {record.reason}")]
        else:
            lines.append((t1, "Image build completed"))
        return [line for line in lines if line[0] <= now]

    def list_image_log_streams(self, image_id: str, region: str | None = None) -> dict[str, Any]:
        record = self._existing(region, image_id, self._no_logs(image_id))
        lines = self._log_lines(record)
        first, last = record.created_at, (lines[-1][0] if lines else record.created_at)
        return {"logStreams": [{
            "logStreamName": f"{catalog.VERSION}/1",
            "logStreamArn": f"{catalog.log_group_arn(record.region, image_id)}:log-stream:{catalog.VERSION}/1",
            "creationTime": iso(first), "firstEventTimestamp": iso(first), "lastEventTimestamp": iso(last),
            "lastIngestionTime": iso(last), "uploadSequenceToken": catalog.digest("seq", image_id, last, length=56),
        }]}

    def get_image_log_events(self, image_id: str, log_stream_name: str, region: str | None = None,
                             limit: int | None = None, start_from_head: bool = False) -> dict[str, Any]:
        if limit is not None and limit < 0:  # AWS checks the limit before it looks for the image
            raise bad_request("'limit' must be a positive integer.")
        record = self._existing(region, image_id, self._no_logs(image_id))
        if log_stream_name != f"{catalog.VERSION}/1":
            raise not_found(f"The specified log stream does not exist: {log_stream_name}")
        events = [{"timestamp": iso(at), "message": message} for at, message in self._log_lines(record)]
        if limit is not None:
            events = events[:limit] if start_from_head else events[max(len(events) - limit, 0):]
        return {"events": events}

    # ---- test control --------------------------------------------------------------------------------------------

    def _controlled(self, image_id: str, region: str | None) -> ImageRecord:
        record = self._existing(region, image_id)
        if self.state(record) != "building":
            raise ApiException(409, {"message": f"image {image_id} is not building (it is {self.state(record)})"})
        return record

    def complete_build(self, image_id: str, region: str | None = None) -> None:
        record = self._controlled(image_id, region)
        self.store.update(record.region, image_id, ends_at=self.clock(), outcome="complete")

    def fail_build(self, image_id: str, reason: str = "Build failed (injected by the emulator)",
                   region: str | None = None) -> None:
        record = self._controlled(image_id, region)
        self.store.update(record.region, image_id, ends_at=self.clock(), outcome="failed", reason=reason)

    def set_in_use(self, image_id: str, in_use: bool = True, region: str | None = None) -> None:
        record = self._existing(region, image_id)
        self.store.update(record.region, image_id, in_use=int(in_use))

    def image_ids(self, region: str | None = None) -> list[str]:
        self.store.purge_deleted(self.clock())
        return [r.image_id for r in self.store.all(self._region(region))]
