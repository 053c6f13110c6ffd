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
from typing import Any, Callable
from urllib.parse import urlencode

import yaml

from . import catalog
from .store import ImageRecord, Store

Clock = Callable[[], float]

LEVELS = ["INFO", "WARNING", "ERROR"]
IMAGE_ID = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,127}$")  # spec pattern (^[a-zA-Z][a-zA-Z0-9-]+$) + 128 chars max
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
SUPPRESSOR = re.compile(r"^(ALL|type:[A-Za-z0-9]+)$")
PARENT_IMAGE = re.compile(r"^ami|arn")
AMI_ID = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$")
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


def bad_request(message: str) -> ApiException:
    return ApiException(400, {"message": f"Bad Request: {message}"})


def not_found(message: str) -> ApiException:
    return ApiException(404, {"message": message})


def build_bad_request(message: str, errors: list[dict[str, Any]]) -> ApiException:
    body: dict[str, Any] = {"message": message}
    if errors:
        body["configurationValidationErrors"] = errors
    return ApiException(400, body)


def finding(field: str, validator: str, level: str, message: str) -> dict[str, str]:
    """One ConfigValidationMessage; `id` names the field it is about."""
    return {"id": field, "type": validator, "level": level, "message": message}


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_bool(name: str, value: str | None) -> bool:
    if value is None:
        return False
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise bad_request(f"query parameter '{name}' must be true or false, got '{value}'")


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
            raise ApiException(403, {"message": "Invalid Expires: not an integer"})
        if not hmac.compare_digest(self._signature(region, image_id, deadline), signature):
            raise ApiException(403, {"message": "The request signature we calculated does not match the signature "
                                                "you provided."})
        if self.clock() > deadline:
            raise ApiException(403, {"message": f"Request has expired (Expires {iso(deadline)})"})


class ImageService:
    """Every image operation of the API, over a Store, in one or more regions."""

    def __init__(self, store: Store, *, clock: Clock = time.time, region: str = "us-east-1",
                 build_seconds: float = 2.0, delete_seconds: float = 0.5, page_size: int = 10):
        self.store, self.clock, self.region = store, clock, region
        self.build_seconds, self.delete_seconds, self.page_size = build_seconds, delete_seconds, page_size
        self.urls = ConfigUrls(store.meta("config_url_secret", secrets.token_hex(32)).encode(), clock)

    # ---- helpers -------------------------------------------------------------------------------------------------

    def _region(self, region: str | None) -> str:
        if region is None or region == "":
            return self.region
        if not REGION.match(region):
            raise bad_request(f"invalid or unsupported region '{region}'")
        return region

    def _find(self, region: str, image_id: str) -> ImageRecord | None:
        self.store.purge_deleted(self.clock())
        return self.store.get(region, image_id)

    def _existing(self, region: str | None, image_id: str) -> ImageRecord:
        if not IMAGE_ID.match(image_id):
            raise bad_request(f"image id '{image_id}' does not match '^[a-zA-Z][a-zA-Z0-9-]+$'")
        record = self._find(self._region(region), image_id)
        if record is None:
            raise not_found(f"No image or stack associated with ParallelCluster image id: {image_id}.")
        return record

    def state(self, record: ImageRecord) -> str:
        """'building', 'complete', 'failed' or 'deleting' at the current time."""
        now = self.clock()
        if record.delete_started_at is not None:
            return "deleting"
        if now < record.ends_at:
            return "building"
        return record.outcome

    def _phase(self, record: ImageRecord) -> str:
        span = max(record.ends_at - record.created_at, 1e-9)
        done = (self.clock() - record.created_at) / span
        return next(name for limit, name in PHASES if done < limit or limit == 1.0)

    def _stack_status(self, record: ImageRecord) -> str:
        return {"building": "CREATE_IN_PROGRESS", "deleting": "DELETE_IN_PROGRESS",
                "failed": "ROLLBACK_COMPLETE" if record.rollback else "CREATE_FAILED"}[self.state(record)]

    @staticmethod
    def _config(record: ImageRecord) -> dict[str, Any]:
        return yaml.safe_load(record.config)

    def _tags(self, record: ImageRecord) -> list[dict[str, str]]:
        """ParallelCluster's own tags on the stack and the AMI."""
        directory = catalog.artifact_dir(record.region, record.image_id, record.created_at)
        config = self._config(record)
        tags = {
            "parallelcluster:image_id": record.image_id,
            "parallelcluster:image_name": (config.get("Image") or {}).get("Name") or record.image_id,
            "parallelcluster:version": catalog.VERSION,
            "parallelcluster:s3_bucket": catalog.bucket(record.region),
            "parallelcluster:s3_image_dir": directory,
            "parallelcluster:build_config": f"s3://{catalog.bucket(record.region)}/{directory}/configs/"
                                            "image-config.yaml",
            "parallelcluster:build_log": catalog.log_group_arn(record.region, record.image_id),
        }
        parent = catalog.official_image(record.region, config["Build"]["ParentImage"])
        if parent:
            tags["parallelcluster:os"] = parent["os"]
        return [{"key": key, "value": value} for key, value in tags.items()]

    def _ami(self, record: ImageRecord) -> dict[str, Any]:
        config = self._config(record)
        image_tags = [{"key": str(tag.get("Key")), "value": str(tag.get("Value"))}
                      for tag in (config.get("Image") or {}).get("Tags") or []]
        return {
            "amiId": "ami-" + catalog.digest("ami", record.region, record.image_id, record.created_at, length=17),
            "amiName": (config.get("Image") or {}).get("Name") or record.image_id,
            "state": "AVAILABLE",
            "tags": image_tags + self._tags(record) + [
                {"key": "Ec2ImageBuilderArn", "value": self._imagebuilder_arn(record)}],
            "architecture": catalog.architecture_of(config["Build"]["InstanceType"]),
        }

    @staticmethod
    def _imagebuilder_arn(record: ImageRecord) -> str:
        return (f"arn:aws:imagebuilder:{record.region}:{catalog.ACCOUNT}:image/"
                f"parallelclusterimage-{record.image_id.lower()}/{catalog.VERSION}/1")

    def _summary(self, record: ImageRecord) -> dict[str, Any]:
        """ImageInfoSummary, as list_images and build_image return it."""
        state = self.state(record)
        summary: dict[str, Any] = {"imageId": record.image_id, "region": record.region, "version": catalog.VERSION}
        if state == "complete":
            summary.update(imageBuildStatus="BUILD_COMPLETE", ec2AmiInfo={"amiId": self._ami(record)["amiId"]})
        else:
            stack_status = self._stack_status(record)
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
        """Check a build request; return (region, validation messages that do not fail it) or raise a 400."""
        request_errors = []
        if not isinstance(image_id, str) or not IMAGE_ID.match(image_id):
            request_errors.append(finding(
                "imageId", "RequestValidator", "ERROR",
                f"Image id '{image_id}' failed to satisfy constraint: The process id can contain only alphanumeric "
                "characters (case-sensitive) and hyphens. It must start with an alphabetic character and can't be "
                "longer than 128 characters (^[a-zA-Z][a-zA-Z0-9-]{0,127}$)."))
        for index, item in enumerate(suppress):
            if not SUPPRESSOR.match(item):
                request_errors.append(finding(f"suppressValidators[{index}]", "RequestValidator", "ERROR",
                                              f"'{item}' does not match '^(ALL|type:[A-Za-z0-9]+)$'"))
        if failure_level is not None and failure_level not in LEVELS:
            request_errors.append(finding("validationFailureLevel", "RequestValidator", "ERROR",
                                          f"'{failure_level}' is not one of {LEVELS}"))
        if not isinstance(config_text, str) or not config_text.strip():
            request_errors.append(finding("imageConfiguration", "RequestValidator", "ERROR",
                                          "imageConfiguration is required and cannot be empty"))
        if request_errors:
            raise build_bad_request("Bad Request: invalid build request", request_errors)
        # AWS's ImageBuilder.validate_create_request checks that the id is free before it validates the
        # configuration: a taken id answers 409 whatever the configuration says, dry run or not.
        existing = self._find(self._region(region or self._config_region(config_text)), image_id)
        if existing is not None:
            raise self._conflict(existing)

        schema_errors, config = self._schema_errors(config_text)
        if schema_errors:
            raise build_bad_request("Invalid image configuration.", schema_errors)
        config_region = config.get("Region")
        if region and config_region and region != config_region:
            raise build_bad_request("Bad Request: region is set in both parameter and configuration and conflicts.",
                                    [finding("Region", "RequestValidator", "ERROR",
                                             f"Region '{config_region}' differs from the region parameter "
                                             f"'{region}'")])
        region = self._region(region or config_region)

        findings = [f for f in self._validator_findings(config, region) if not self._suppressed(f, suppress)]
        threshold = LEVELS.index(failure_level or "ERROR")
        if any(LEVELS.index(f["level"]) >= threshold for f in findings):
            raise build_bad_request("Configuration is invalid", findings)
        return region, findings

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
    def _schema_errors(config_text: str) -> tuple[list[dict[str, str]], dict[str, Any]]:
        def error(field: str, message: str) -> dict[str, str]:
            return finding(field, "ImageSchemaValidator", "ERROR", message)

        try:
            config = yaml.safe_load(config_text)
        except yaml.YAMLError as exc:
            return [error("imageConfiguration", f"Configuration must be a valid YAML document. {exc}")], {}
        if not isinstance(config, dict):
            return [error("imageConfiguration", "Configuration must be a YAML mapping, got "
                                                f"{type(config).__name__}")], {}
        errors = [error(str(key), f"Unknown field '{key}'; allowed top-level keys are {TOP_LEVEL_KEYS}")
                  for key in config if key not in TOP_LEVEL_KEYS]
        build = config.get("Build")
        if not isinstance(build, dict):
            errors.append(error("Build", "Missing data for required field: Build must be a mapping."))
            return errors, config
        instance_type = build.get("InstanceType")
        if not isinstance(instance_type, str):
            errors.append(error("Build.InstanceType", "Missing data for required field: a string such as "
                                                      "'c6i.xlarge'."))
        parent = build.get("ParentImage")
        if not isinstance(parent, str):
            errors.append(error("Build.ParentImage", "Missing data for required field: an AMI id or an EC2 Image "
                                                     "Builder image ARN."))
        elif not PARENT_IMAGE.match(parent):
            errors.append(error("Build.ParentImage", f"'{parent}' does not match '^ami|arn'."))
        image = config.get("Image")
        if image is not None and not (isinstance(image, dict) and isinstance(image.get("Tags", []), list)
                                      and all(isinstance(t, dict) and "Key" in t and "Value" in t
                                              for t in image.get("Tags", []))):
            errors.append(error("Image", "Image must be a mapping whose Tags is a list of {Key, Value}."))
        return errors, config

    @staticmethod
    def _validator_findings(config: dict[str, Any], region: str) -> list[dict[str, str]]:
        """A few of the real validators, so that suppressValidators and validationFailureLevel matter."""
        build = config["Build"]
        instance_type, parent = build["InstanceType"], build["ParentImage"]
        found = []
        if not catalog.is_instance_type(instance_type):
            found.append(finding("Build.InstanceType", "InstanceTypeValidator", "ERROR",
                                 f"The instance type '{instance_type}' is not supported."))
        official = catalog.official_image(region, parent)
        if official and catalog.is_instance_type(instance_type) \
                and official["architecture"] != catalog.architecture_of(instance_type):
            found.append(finding(
                "Build.ParentImage", "InstanceTypeBaseAMICompatibleValidator", "ERROR",
                f"AMI {parent}'s architecture ({official['architecture']}) is incompatible with the architecture "
                f"supported by the instance type {instance_type} chosen "
                f"(['{catalog.architecture_of(instance_type)}']). Use either a different AMI or a different "
                "instance type."))
        elif parent.startswith("ami") and not AMI_ID.match(parent):
            found.append(finding(
                "Build.ParentImage", "InstanceTypeBaseAMICompatibleValidator", "WARNING",
                f"Parent image '{parent}' does not look like an AMI id (ami- and 8 or 17 hex digits): its "
                f"architecture cannot be checked against {instance_type}."))
        if "UpdateOsPackages" not in build:
            found.append(finding("Build.UpdateOsPackages", "UpdateOsPackagesValidator", "INFO",
                                 "Build.UpdateOsPackages is not set: the OS packages of the parent image will not "
                                 "be updated."))
        return found

    def build_image(self, image_id: Any, config_text: Any, *, suppress: list[str] | None = None,
                    failure_level: str | None = None, dryrun: bool = False, rollback: bool = False,
                    region: str | None = None) -> dict[str, Any]:
        suppress = suppress or []
        region, messages = self.validate(image_id, config_text, suppress, failure_level, region)
        if dryrun:
            body: dict[str, Any] = {"message": "Request would have succeeded, but DryRun flag is set."}
            if messages:
                body["validationMessages"] = messages
            raise ApiException(412, body)
        now = self.clock()
        record = ImageRecord(region=region, image_id=image_id, config=config_text, created_at=now,
                             ends_at=now + self.build_seconds, rollback=rollback, messages=messages)
        if not self.store.insert(record):  # a concurrent build of the same id won the race
            raise self._conflict(self.store.get(region, image_id))
        response: dict[str, Any] = {"image": self._summary(record)}
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
        state = self.state(record)
        body: dict[str, Any] = {
            "imageId": image_id,
            "region": record.region,
            "version": catalog.VERSION,
            "imageConfiguration": {"url": self.urls.sign(base_url, record.region, image_id)},
        }
        if state == "complete":
            body.update(imageBuildStatus="BUILD_COMPLETE", creationTime=iso(record.ends_at),
                        ec2AmiInfo=self._ami(record))
            return body
        body.update(self._summary(record))
        body.update(imageBuildLogsArn=catalog.log_group_arn(record.region, image_id),
                    cloudformationStackCreationTime=iso(record.created_at),
                    cloudformationStackTags=self._tags(record))
        if state == "building":
            body["imagebuilderImageStatus"] = self._phase(record)
        elif state == "failed":
            body.update(imagebuilderImageStatus="FAILED", imagebuilderImageStatusReason=record.reason,
                        cloudformationStackStatusReason="The following resource(s) failed to create: "
                                                        "[ParallelClusterImage]. "
                                                        + ("Rollback requested by user." if record.rollback else ""))
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
        had_stack = state != "complete"
        if state != "deleting":
            now = self.clock()
            record.delete_started_at, record.delete_ends_at = now, now + self.delete_seconds
            self.store.update(record.region, image_id, delete_started_at=record.delete_started_at,
                              delete_ends_at=record.delete_ends_at)
        summary: dict[str, Any] = {"imageId": image_id, "imageBuildStatus": "DELETE_IN_PROGRESS",
                                   "region": record.region, "version": catalog.VERSION}
        if had_stack:
            summary.update(cloudformationStackStatus="DELETE_IN_PROGRESS",
                           cloudformationStackArn=catalog.stack_arn(record.region, image_id, record.created_at))
        return {"image": summary}

    def list_images(self, image_status: str | None, region: str | None = None,
                    next_token: str | None = None) -> dict[str, Any]:
        if image_status is None:
            raise bad_request("Missing query parameter 'imageStatus'")
        if image_status not in STATUS_FILTERS:
            raise bad_request(f"'{image_status}' is not one of {STATUS_FILTERS} (imageStatus)")
        region = self._region(region)
        self.store.purge_deleted(self.clock())
        records = self.store.all(region)
        if image_status == "AVAILABLE":  # the real API lists AMIs unpaged
            return {"images": [self._summary(r) for r in records if self.state(r) == "complete"]}
        wanted = "building" if image_status == "PENDING" else "failed"
        after = self._decode_token(next_token)
        matching = [r for r in records if self.state(r) == wanted and (r.seq or 0) > after]
        page = matching[:self.page_size]
        response: dict[str, Any] = {"images": [self._summary(r) for r in page]}
        if len(matching) > self.page_size:
            response["nextToken"] = base64.urlsafe_b64encode(json.dumps({"after": page[-1].seq}).encode()).decode()
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
        problems = []
        if os is not None and os not in catalog.SUPPORTED_OSES:
            problems.append(f"{os} is not one of {catalog.SUPPORTED_OSES}")
        if architecture is not None and architecture not in catalog.SUPPORTED_ARCHITECTURES:
            problems.append(f"{architecture} is not one of {catalog.SUPPORTED_ARCHITECTURES}")
        if problems:
            raise bad_request("; ".join(problems))
        return {"images": [image for image in catalog.official_images(self._region(region))
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
        record = self._existing(region, image_id)
        state = self.state(record)
        if state == "complete":  # the build stack deleted itself after success
            raise not_found(f"No stack associated with ParallelCluster image id: {image_id}.")
        stack_id = catalog.stack_arn(record.region, image_id, record.created_at)
        t0, now = record.created_at, self.clock()

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
        record = self._existing(region, image_id)
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
        record = self._existing(region, image_id)
        if log_stream_name != f"{catalog.VERSION}/1":
            raise not_found(f"The specified log stream does not exist: {log_stream_name}")
        events = [{"timestamp": iso(at), "message": message} for at, message in self._log_lines(record)]
        if limit is not None:
            if limit < 0:
                raise bad_request(f"limit must be a non-negative integer, got {limit}")
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
