"""Comparing one answer of AWS's implementation with the emulator's: status, body shape, chosen values.

KNOWN_DIFFERENCES is the one place that lists what cannot agree, and why; `compare` removes exactly those keys
from the emulator's answer (never from AWS's) before comparing.
"""

from __future__ import annotations

import re
from typing import Any

from .conftest import RESULTS

KNOWN_DIFFERENCES = {
    "imagebuilderImageStatus": "moto has no EC2 Image Builder: AWS's describe_image reads the image's phase and "
                               "failure reason from Image Builder and leaves them out when it cannot (the emulator "
                               "models the phases: PENDING, BUILDING, TESTING, DISTRIBUTING, FAILED)",
    "imagebuilderImageStatusReason": "same: from Image Builder, absent under moto",
    "cloudformationStackStatusReason": "moto's DescribeStacks never returns StackStatusReason; AWS's CloudFormation "
                                       "does (a failed build's reason, 'User Initiated' while deleting)",
    "build finishing": "moto cannot run Image Builder nor ParallelCluster's cleanup Lambda: aws_app.py's hook "
                       "registers the AMI as the template's DistributionConfiguration (AWS's own output) names and "
                       "tags it, adds Image Builder's Ec2ImageBuilderArn and the Lambda's build_status and "
                       "parent_image tags, and deletes the stack; a failure is the stack status set by the hook",
    "logs and stack events": "no Image Builder writes build logs under moto (AWS's side answers 404 'Unable to find "
                             "image logs' for an existing image), and moto records only its own stack events: "
                             "their contents are not compared, only the answers for unknown images",
    "delete while building": "AWS refuses to delete an image whose Image Builder workflow runs (400 'has a running "
                             "workflow'); under moto there is no workflow to ask about, so AWS's side would delete "
                             "the stack: the emulator keeps AWS's refusal, pinned by tests/emulator",
    "deletion time": "moto deletes a stack at once; on AWS a failed image's stack stays DELETE_IN_PROGRESS for a "
                     "while (the emulator's delete_seconds, 0 in this suite)",
    "generated values": "ARNs with random stack ids, S3 bucket and directory names, presigned URLs, nextToken "
                        "values, build dates and timestamps are random on both sides: compared by shape and "
                        "format, not value; AMI tags have no order (Image Builder's AmiTags is a map)",
    "instance types": "AWS asks EC2 for the region's instance types; the emulator knows their pattern "
                      "(family, generation, size): the suite uses real types and one impossible one",
}
DROPPED_FROM_EMULATOR = ("imagebuilderImageStatus", "imagebuilderImageStatusReason",
                         "cloudformationStackStatusReason")


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def pick(value: Any, path: str) -> Any:
    """The value at a dotted path; `*` maps over a list."""
    if not path:
        return value
    head, _, rest = path.partition(".")
    if head == "*":
        return [pick(item, rest) for item in value] if isinstance(value, list) else "<not a list>"
    if not isinstance(value, dict):
        return "<missing>"
    return pick(value[head], rest) if head in value else "<missing>"


def without_known_differences(body: Any) -> Any:
    if isinstance(body, dict):
        return {key: without_known_differences(value) for key, value in body.items()
                if key not in DROPPED_FROM_EMULATOR}
    if isinstance(body, list):
        return [without_known_differences(item) for item in body]
    return body


def sorted_at(body: Any, path: str) -> Any:
    """A copy of `body` whose list at the dotted `path` is sorted (for lists without an order, like AMI tags)."""
    head, _, rest = path.partition(".")
    if not isinstance(body, dict) or head not in body:
        return body
    if rest:
        return {**body, head: sorted_at(body[head], rest)}
    return {**body, head: sorted(body[head], key=repr) if isinstance(body[head], list) else body[head]}


def compare(case: str, aws: tuple[int, Any], emulator: tuple[int, Any], values: tuple[str, ...] = (),
            formats: dict[str, str] | None = None, unordered: tuple[str, ...] = ()) -> None:
    """Status and body shape must be equal; so must the values at `values`; the values at `formats`' paths
    must match the regular expression on both sides; the lists at `unordered` are compared sorted."""
    (aws_status, aws_body), (emu_status, emu_body) = aws, emulator
    emu_body = without_known_differences(emu_body)
    for path in unordered:
        aws_body, emu_body = sorted_at(aws_body, path), sorted_at(emu_body, path)
    problems = []
    if aws_status != emu_status:
        problems.append(f"status: AWS {aws_status}, emulator {emu_status}")
    if shape(aws_body) != shape(emu_body):
        problems.append(f"shape: AWS {shape(aws_body)}, emulator {shape(emu_body)}")
    for path in values:
        if pick(aws_body, path) != pick(emu_body, path):
            problems.append(f"{path}: AWS {pick(aws_body, path)!r}, emulator {pick(emu_body, path)!r}")
    for path, pattern in (formats or {}).items():
        for side, body in (("AWS", aws_body), ("emulator", emu_body)):
            found = pick(body, path)
            if not isinstance(found, str) or not re.fullmatch(pattern, found):
                problems.append(f"{path} on {side}: {found!r} does not match {pattern}")
    RESULTS.append((case, not problems))
    assert not problems, f"{case}\n  " + "\n  ".join(problems) + f"\n  AWS: {aws_body}\n  emulator: {emu_body}"
