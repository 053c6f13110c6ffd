"""AWS's own implementation of the ParallelCluster API, served locally for the conformance suite.

Runs in a virtualenv holding aws-parallelcluster==3.16.1 and moto (not in the project's environment):
`python aws_app.py PORT_FILE`. The `pcluster.api` connexion/Flask app answers under `/v3/...` exactly as the Lambda
behind API Gateway does; every AWS call it makes is served by moto's `mock_aws` in this process, so nothing leaves
the machine. Routes under `/_hook/` stand in for what moto cannot do (see KNOWN_DIFFERENCES in test_conformance.py):

- `POST /_hook/official-images`: put the official AMIs (owned by `amazon`) into moto's EC2;
- `POST /_hook/parent-images`: register a customer's own AMI (`{"image", "architecture", "name"}`);
- `POST /_hook/images/<id>/complete`: finish a build as EC2 Image Builder and ParallelCluster's cleanup Lambda do:
  register the AMI with the recipe's name and tags (+ `Ec2ImageBuilderArn`, `parallelcluster:build_status`,
  `parallelcluster:parent_image`), then delete the build stack;
- `POST /_hook/images/<id>/fail`: put the build stack in CREATE_FAILED (or ROLLBACK_COMPLETE with `rollback`).

Environment: AWS_DEFAULT_REGION (default us-east-1), CONFORMANCE_PAGE_SIZE (moto's DescribeStacks page size).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    os.environ[name] = "testing"
os.environ.pop("AWS_PROFILE", None)
os.environ["AWS_SESSION_TOKEN"] = "testing"
os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # the cleanup role attaches AWSLambdaBasicExecutionRole

from moto import mock_aws  # noqa: E402

MOCK = mock_aws()
MOCK.start()

import yaml  # noqa: E402
from moto.cloudformation import responses as cfn_responses  # noqa: E402
from moto.cloudformation import models as cfn_models  # noqa: E402
from moto.cloudformation.models import cloudformation_backends  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.ec2.models import ec2_backends  # noqa: E402
from moto.ec2.models.amis import Ami  # noqa: E402
from moto.s3 import models as s3_models  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402

import pcluster.utils  # noqa: E402
from pcluster.api.flask_app import ParallelClusterFlaskApp  # noqa: E402

# No network: the supported-region list comes from the wheel, as it does when S3 is unreachable.
with open(os.path.join(os.path.dirname(pcluster.utils.__file__), "resources", "supported-regions")) as f:
    pcluster.utils.retrieve_supported_regions.cache = f.read().split("\n")

PAGE_SIZE = int(os.environ.get("CONFORMANCE_PAGE_SIZE", "50"))


def _describe_stacks(self):  # moto's own, with a settable page size instead of its fixed 50
    token = self._get_param("NextToken")
    stacks = self.cloudformation_backend.describe_stacks(self._get_param("StackName"))
    ids = [stack.stack_id for stack in stacks]
    start = ids.index(token) + 1 if token else 0
    page = stacks[start:start + PAGE_SIZE]
    next_token = page[-1].stack_id if len(stacks) > start + PAGE_SIZE else None
    return cfn_responses.ActionResult({"Stacks": page, "NextToken": next_token})


cfn_responses.CloudFormationResponse.describe_stacks = _describe_stacks


def _get_permission(self, action, resource):
    """moto evaluates bucket policies without their Condition and Principal, so ParallelCluster's own bucket
    policy (deny unless TLS; deny the logs service the reserved prefix) would deny the account itself.
    Only statements that apply to the caller (this account, over HTTPS) are kept."""
    from moto.iam.access_control import IAMPolicy, PermissionResult
    if self.policy is None:
        return PermissionResult.NEUTRAL
    policy = json.loads(self.policy.decode())
    policy["Statement"] = [s for s in policy.get("Statement", [])
                           if "Condition" not in s and "Service" not in json.dumps(s.get("Principal", ""))]
    return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)


s3_models.FakeBucket.get_permission = _get_permission
_mark_creation_complete = cfn_models.Stack.mark_creation_complete


def _build_stacks_stay_in_progress(self):
    """moto creates a stack at once; a build stack stays CREATE_IN_PROGRESS, as while Image Builder works,
    until a hook finishes or fails it."""
    if "parallelcluster:image_id" not in self.tags:
        _mark_creation_complete(self)


cfn_models.Stack.mark_creation_complete = _build_stacks_stay_in_progress

API = ParallelClusterFlaskApp().flask_app


def _region(request: Request) -> str:
    return request.args.get("region") or os.environ["AWS_DEFAULT_REGION"]


def _ec2(region: str):
    return ec2_backends[DEFAULT_ACCOUNT_ID][region]


def _stack(region: str, image_id: str):
    return next(s for s in cloudformation_backends[DEFAULT_ACCOUNT_ID][region].stacks.values()
                if s.name == image_id and s.status != "DELETE_COMPLETE")


def _add_ami(region: str, ami_id: str, name: str, architecture: str, owner_alias: str | None = None,
             description: str | None = None, tags: dict[str, str] | None = None) -> None:
    backend = _ec2(region)
    ami = Ami(backend, ami_id, name=name, architecture=architecture, owner_alias=owner_alias,
              owner_id="247102896272" if owner_alias == "amazon" else None, description=description,
              creation_date=datetime.now(timezone.utc))
    backend.amis[ami_id] = ami
    for key, value in (tags or {}).items():
        backend.create_tags([ami_id], {key: value})


def _resolve(value, region: str):
    """The few intrinsic functions ParallelCluster's template uses in AMI tags (Fn::Join over pseudo parameters)."""
    if isinstance(value, dict) and "Ref" in value:
        return {"AWS::Partition": "aws", "AWS::AccountId": DEFAULT_ACCOUNT_ID, "AWS::Region": region}[value["Ref"]]
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_resolve(part, region) for part in parts)
    return value


def _complete(region: str, image_id: str, body: dict) -> None:
    """What Image Builder does with ParallelCluster's template: an AMI named and tagged as the template's
    DistributionConfiguration says (its `{{ imagebuilder:buildDate }}` filled in, Image Builder's ARN tag added),
    then what ParallelCluster's cleanup Lambda does: tag build_status and parent_image, delete the stack."""
    stack = _stack(region, image_id)
    [distribution] = [resource["Properties"]["Distributions"][0]["AmiDistributionConfiguration"]
                      for resource in stack.template_dict["Resources"].values()
                      if resource["Type"] == "AWS::ImageBuilder::DistributionConfiguration"]
    ami_tags = {key: _resolve(value, region) for key, value in distribution["AmiTags"].items()}
    arn = (f"arn:aws:imagebuilder:{region}:{DEFAULT_ACCOUNT_ID}:image/parallelclusterimage-{image_id.lower()}/"
           f"{ami_tags['parallelcluster:version']}/1")
    config = yaml.safe_load(_config_text(stack)) or {}
    ami_tags.update({"Ec2ImageBuilderArn": arn, "parallelcluster:build_status": "available",
                     "parallelcluster:parent_image": config["Build"]["ParentImage"]})
    build_date = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H-%M-%S.%f")[:-3] + "Z"
    _add_ami(region, body["ami_id"], distribution["Name"].replace("{{ imagebuilder:buildDate }}", build_date),
             body.get("architecture", "x86_64"), tags=ami_tags)
    cloudformation_backends[DEFAULT_ACCOUNT_ID][region].delete_stack(stack.stack_id)


def _config_text(stack) -> str:
    """The configuration ParallelCluster uploaded next to the template (its build_config tag)."""
    from moto.s3.models import s3_backends
    url = dict(stack.tags)["parallelcluster:build_config"]
    bucket, key = url[len("s3://"):].split("/", 1)
    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_object(bucket, key).value.decode()


def _fail(region: str, image_id: str, body: dict) -> None:
    stack = _stack(region, image_id)
    stack.status = "ROLLBACK_COMPLETE" if body.get("rollback") else "CREATE_FAILED"


def hooks(request: Request) -> Response:
    region, body = _region(request), request.get_json(silent=True) or {}
    parts = request.path.strip("/").split("/")[1:]
    try:
        if parts == ["official-images"]:
            for image in body["images"]:
                _add_ami(region, image["amiId"], image["name"], image["architecture"], owner_alias="amazon",
                         description="AWS ParallelCluster AMI")
        elif parts == ["parent-images"]:
            _add_ami(region, body["image"], body.get("name") or body["image"], body.get("architecture", "x86_64"))
        elif len(parts) == 3 and parts[0] == "images" and parts[2] == "complete":
            _complete(region, parts[1], body)
        elif len(parts) == 3 and parts[0] == "images" and parts[2] == "fail":
            _fail(region, parts[1], body)
        else:
            return Response(json.dumps({"message": f"no hook {request.path}"}), 404, mimetype="application/json")
    except (KeyError, StopIteration) as exc:
        return Response(json.dumps({"message": f"hook failed: {exc!r}"}), 400, mimetype="application/json")
    return Response("{}", 200, mimetype="application/json")


def application(environ, start_response):
    request = Request(environ)
    if request.path.startswith("/_hook/"):
        return hooks(request)(environ, start_response)
    return API(environ, start_response)


def main() -> None:
    server = make_server("127.0.0.1", 0, application, threaded=False)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_port))
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
