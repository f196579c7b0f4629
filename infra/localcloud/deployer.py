"""Deploy a SAM template to the local cloud: translate, then create each resource through boto3.

Resources are created through the AWS APIs of the moto server (not moto's CloudFormation, which
silently ignores bucket notifications, definition substitutions and API stages), in dependency
order. Lambda functions are registered with the local runtime from their local code folders and
layers; schedules with the scheduler; the REST API with the local API Gateway. A resource type or
property the local cloud cannot honour fails the deployment, naming it.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from localcloud import deps
from localcloud.image import build_local_image
from localcloud.intrinsics import Resolver, dependencies
from localcloud.runtime import FunctionSpec, LambdaRuntime
from localcloud.template import TemplateError, load_template, local_path, translate

log = logging.getLogger("lockgate.localcloud.deployer")

ACCOUNT_ID = "123456789012"
_WARNED_RUNTIME = False

# Properties the local cloud reads per type; anything else present fails loudly.
_KNOWN_PROPS: dict[str, set[str]] = {
    "AWS::S3::Bucket": {
        "BucketName",
        "VersioningConfiguration",
        "BucketEncryption",
        "PublicAccessBlockConfiguration",
        "NotificationConfiguration",
        "OwnershipControls",
        "Tags",
        "LifecycleConfiguration",
    },
    "AWS::S3::BucketPolicy": {"Bucket", "PolicyDocument"},
    "AWS::DynamoDB::Table": {
        "TableName",
        "AttributeDefinitions",
        "KeySchema",
        "BillingMode",
        "GlobalSecondaryIndexes",
        "TimeToLiveSpecification",
        "PointInTimeRecoverySpecification",
        "SSESpecification",
        "StreamSpecification",
        "Tags",
        "ProvisionedThroughput",
    },
    "AWS::Events::EventBus": {"Name", "Tags"},
    "AWS::Events::Rule": {
        "Name",
        "Description",
        "EventBusName",
        "EventPattern",
        "ScheduleExpression",
        "State",
        "Targets",
        "RoleArn",
    },
    "AWS::IAM::Role": {
        "AssumeRolePolicyDocument",
        "ManagedPolicyArns",
        "Policies",
        "Tags",
        "RoleName",
        "Path",
        "PermissionsBoundary",
    },
    "AWS::IAM::Policy": {"PolicyName", "PolicyDocument", "Roles"},
    "AWS::Lambda::LayerVersion": {
        "Content",
        "CompatibleRuntimes",
        "Description",
        "LayerName",
        "LicenseInfo",
        "CompatibleArchitectures",
    },
    "AWS::Lambda::Function": {
        "Code",
        "Handler",
        "Runtime",
        "Role",
        "Timeout",
        "MemorySize",
        "Environment",
        "Layers",
        "Tags",
        "TracingConfig",
        "Architectures",
        "FunctionName",
        "Description",
        "ReservedConcurrentExecutions",
        "DeadLetterConfig",
        "EphemeralStorage",
        "LoggingConfig",
        "PackageType",
        "ImageConfig",
    },
    "AWS::Lambda::Permission": {"Action", "FunctionName", "Principal", "SourceArn", "SourceAccount"},
    "AWS::Lambda::EventInvokeConfig": {
        "FunctionName",
        "Qualifier",
        "MaximumRetryAttempts",
        "MaximumEventAgeInSeconds",
        "DestinationConfig",
    },
    "AWS::Lambda::EventSourceMapping": {
        "EventSourceArn",
        "FunctionName",
        "BatchSize",
        "Enabled",
        "StartingPosition",
        "MaximumBatchingWindowInSeconds",
        "FunctionResponseTypes",
    },
    "AWS::StepFunctions::StateMachine": {
        "DefinitionString",
        "DefinitionSubstitutions",
        "RoleArn",
        "StateMachineName",
        "StateMachineType",
        "Tags",
        "TracingConfiguration",
        "LoggingConfiguration",
    },
    "AWS::SNS::Topic": {"TopicName", "KmsMasterKeyId", "Subscription", "Tags", "DisplayName"},
    "AWS::SNS::TopicPolicy": {"PolicyDocument", "Topics"},
    "AWS::SNS::Subscription": {"TopicArn", "Protocol", "Endpoint", "FilterPolicy", "RawMessageDelivery"},
    "AWS::SQS::Queue": {
        "QueueName",
        "MessageRetentionPeriod",
        "VisibilityTimeout",
        "SqsManagedSseEnabled",
        "KmsMasterKeyId",
        "RedrivePolicy",
        "Tags",
    },
    "AWS::SQS::QueuePolicy": {"PolicyDocument", "Queues"},
    "AWS::Logs::LogGroup": {"LogGroupName", "RetentionInDays"},
    "AWS::ApiGateway::RestApi": {
        "Body",
        "Name",
        "EndpointConfiguration",
        "Parameters",
        "Description",
        "BinaryMediaTypes",
    },
    "AWS::ApiGateway::Deployment": {"RestApiId", "Description", "StageName"},
    "AWS::ApiGateway::Stage": {
        "RestApiId",
        "DeploymentId",
        "StageName",
        "TracingEnabled",
        "MethodSettings",
        "Variables",
    },
    "AWS::SSM::Parameter": {"Name", "Type", "Value", "Description"},
}


@dataclass
class Created:
    physical_id: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Deployment:
    stack_name: str
    outputs: dict[str, str]
    functions: dict[str, str]  # logical id -> function name
    schedules: list[dict[str, Any]]
    api: dict[str, Any] | None
    sam: dict[str, Any]
    parameters: dict[str, str]


class Deployer:
    def __init__(
        self,
        *,
        endpoint_url: str,
        region: str,
        runtime: LambdaRuntime,
        root: Path,
        build_dir: Path,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self.runtime = runtime
        self.root = root
        self.build_dir = build_dir
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 - local cloud
            )
        return self._clients[service]

    # ------------------------------------------------------------------ deploy
    def deploy(
        self, template_path: Path, *, stack_name: str, parameters: dict[str, str] | None = None
    ) -> Deployment:
        sam = load_template(template_path)
        self.sam = sam
        params = self._parameters(sam, parameters or {})
        cfn = translate(sam, self.root, {k: str(v) for k, v in params.items()}, self.region)
        resources: dict[str, Any] = cfn["Resources"]
        for logical_id, res in resources.items():
            self._check(logical_id, res)
        self.stack_name = stack_name
        self.created: dict[str, Created] = {}
        self.resources = resources
        self.schedules: list[dict[str, Any]] = []
        self.functions: dict[str, str] = {}
        self._pending_notifications: list[tuple[str, str, Any]] = []
        self._layer_paths: dict[str, list[str]] = {}
        self._rest_apis: dict[str, str] = {}
        self.resolver = Resolver(
            parameters=params,
            pseudo={
                "AWS::Region": self.region,
                "AWS::AccountId": ACCOUNT_ID,
                "AWS::StackName": stack_name,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{ACCOUNT_ID}:stack/{stack_name}/local",
            },
            ref=self._ref,
            get_att=self._get_att,
        )
        self.resolver.conditions = {
            n: bool(self.resolver.resolve(c)) for n, c in (cfn.get("Conditions") or {}).items()
        }
        for logical_id in self._order(resources):
            res = resources[logical_id]
            if "Condition" in res and not self.resolver.conditions.get(res["Condition"], False):
                continue
            props = self.resolver.resolve(res.get("Properties") or {})
            handler = getattr(self, "_create_" + res["Type"].replace("::", "_").replace("AWS_", "", 1))
            self.created[logical_id] = handler(logical_id, props)
        self.wire_notifications()
        outputs = {
            name: str(self.resolver.resolve(out["Value"])) for name, out in (cfn.get("Outputs") or {}).items()
        }
        api = self._api_info(sam)
        return Deployment(
            stack_name,
            outputs,
            dict(self.functions),
            self.schedules,
            api,
            sam,
            {k: str(v) for k, v in params.items()},
        )

    def _parameters(self, sam: dict[str, Any], given: dict[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, decl in (sam.get("Parameters") or {}).items():
            if name in given:
                values[name] = given[name]
            elif "Default" in decl:
                values[name] = decl["Default"]
            else:
                raise TemplateError(f"parameter {name} has no default; pass it with --parameter {name}=VALUE")
        unknown = set(given) - set(values)
        if unknown:
            raise TemplateError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        return values

    def _check(self, logical_id: str, res: dict[str, Any]) -> None:
        rtype = res.get("Type", "")
        known = _KNOWN_PROPS.get(rtype)
        if known is None:
            raise TemplateError(f"{logical_id}: resource type {rtype} is not supported by the local cloud")
        extra = set(res.get("Properties") or {}) - known
        if extra:
            raise TemplateError(
                f"{logical_id} ({rtype}): property {', '.join(sorted(extra))} is not supported by the local cloud"
            )

    def _order(self, resources: dict[str, Any]) -> list[str]:
        deps_of = {}
        for lid, res in resources.items():
            d = dependencies(res.get("Properties") or {})
            depends_on = res.get("DependsOn") or []
            d |= {depends_on} if isinstance(depends_on, str) else set(depends_on)
            deps_of[lid] = {x for x in d if x in resources and x != lid}
        # Bucket notifications point at functions whose policies name the bucket: create buckets
        # first without notifications, then wire notifications (see _create_S3_Bucket).
        for lid, res in resources.items():
            if res["Type"] == "AWS::S3::Bucket":
                notif = (res.get("Properties") or {}).get("NotificationConfiguration")
                deps_of[lid] -= dependencies(notif) if notif else set()
        order: list[str] = []
        done: set[str] = set()
        visiting: set[str] = set()

        def visit(lid: str) -> None:
            if lid in done:
                return
            if lid in visiting:
                raise TemplateError(f"circular dependency involving {lid}")
            visiting.add(lid)
            for d in sorted(deps_of[lid]):
                visit(d)
            visiting.discard(lid)
            done.add(lid)
            order.append(lid)

        for lid in resources:
            visit(lid)
        return order

    # ------------------------------------------------------------------ references
    def _ref(self, logical_id: str) -> Any:
        if logical_id not in self.created:
            if logical_id in self.resources:
                raise TemplateError(f"{logical_id} is referenced before it exists (ordering bug)")
            raise TemplateError(f"Ref to unknown resource or parameter {logical_id}")
        return self.created[logical_id].physical_id

    def _get_att(self, logical_id: str, attr: str) -> Any:
        created = self.created.get(logical_id)
        if created is None:
            raise TemplateError(f"GetAtt {logical_id}.{attr}: {logical_id} does not exist yet")
        if attr not in created.attributes:
            raise TemplateError(f"GetAtt {logical_id}.{attr} is not supported by the local cloud")
        return created.attributes[attr]

    def _name(self, logical_id: str, limit: int = 64, lower: bool = False) -> str:
        suffix = hashlib.sha256(f"{self.stack_name}/{logical_id}".encode()).hexdigest()[:8]
        name = f"{self.stack_name}-{logical_id}"[: limit - 9] + "-" + suffix
        return name.lower() if lower else name

    # ------------------------------------------------------------------ S3
    def _create_S3_Bucket(self, lid: str, p: dict[str, Any]) -> Created:
        s3 = self.client("s3")
        name = p.get("BucketName") or self._name(lid, 63, lower=True)
        try:
            s3.create_bucket(Bucket=name)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        if "VersioningConfiguration" in p:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=p["VersioningConfiguration"])
        if "BucketEncryption" in p:
            # CloudFormation's BucketEncryption holds a list of rules; the API wants {"Rules": [...]}.
            rules = [
                {
                    ("ApplyServerSideEncryptionByDefault" if k == "ServerSideEncryptionByDefault" else k): v
                    for k, v in r.items()
                }
                for r in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        if "PublicAccessBlockConfiguration" in p:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"]
            )
        created = Created(
            name,
            {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{self.region}.amazonaws.com",
            },
        )
        notif = self.resources[lid]["Properties"].get("NotificationConfiguration")
        if notif:
            self._pending_notifications.append((lid, name, notif))
        return created

    def _create_S3_BucketPolicy(self, lid: str, p: dict[str, Any]) -> Created:
        self.client("s3").put_bucket_policy(Bucket=p["Bucket"], Policy=json.dumps(p["PolicyDocument"]))
        return Created(p["Bucket"])

    def wire_notifications(self) -> None:
        s3 = self.client("s3")
        for _lid, bucket, notif in self._pending_notifications:
            conf = self.resolver.resolve(notif)
            unsupported = set(conf) - {
                "LambdaConfigurations",
                "QueueConfigurations",
                "TopicConfigurations",
                "EventBridgeConfiguration",
            }
            if unsupported:
                raise TemplateError(
                    f"{_lid}: NotificationConfiguration.{', '.join(unsupported)} is not supported"
                )
            out: dict[str, Any] = {}
            for cfn_key, api_key, arn_key, api_arn in (
                ("LambdaConfigurations", "LambdaFunctionConfigurations", "Function", "LambdaFunctionArn"),
                ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
                ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn"),
            ):
                for c in conf.get(cfn_key, []):
                    item: dict[str, Any] = {api_arn: c[arn_key], "Events": [c["Event"]]}
                    rules = (c.get("Filter") or {}).get("S3Key", {}).get("Rules")
                    if rules:
                        item["Filter"] = {"Key": {"FilterRules": rules}}
                    out.setdefault(api_key, []).append(item)
            if "EventBridgeConfiguration" in conf:
                out["EventBridgeConfiguration"] = {}
            s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=out)

    # ------------------------------------------------------------------ DynamoDB
    def _create_DynamoDB_Table(self, lid: str, p: dict[str, Any]) -> Created:
        ddb = self.client("dynamodb")
        name = p.get("TableName") or self._name(lid, 255)
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": p["AttributeDefinitions"],
            "KeySchema": p["KeySchema"],
            "BillingMode": p.get("BillingMode", "PROVISIONED"),
        }
        if p.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = p["GlobalSecondaryIndexes"]
        if p.get("StreamSpecification"):
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **p["StreamSpecification"]}
        if "ProvisionedThroughput" in p:
            kwargs["ProvisionedThroughput"] = {k: int(v) for k, v in p["ProvisionedThroughput"].items()}
        try:
            ddb.create_table(**kwargs)
        except ddb.exceptions.ResourceInUseException:
            pass
        ttl = p.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        desc = ddb.describe_table(TableName=name)["Table"]
        return Created(name, {"Arn": desc["TableArn"], "StreamArn": desc.get("LatestStreamArn", "")})

    # ------------------------------------------------------------------ EventBridge
    def _create_Events_EventBus(self, lid: str, p: dict[str, Any]) -> Created:
        ev = self.client("events")
        try:
            arn = ev.create_event_bus(Name=p["Name"])["EventBusArn"]
        except ev.exceptions.ResourceAlreadyExistsException:
            arn = ev.describe_event_bus(Name=p["Name"])["Arn"]
        return Created(p["Name"], {"Arn": arn, "Name": p["Name"]})

    def _create_Events_Rule(self, lid: str, p: dict[str, Any]) -> Created:
        ev = self.client("events")
        name = p.get("Name") or self._name(lid, 64)
        bus = p.get("EventBusName", "default")
        if bus.startswith("arn:"):
            bus = bus.split("/")[-1]
        kwargs: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": p.get("State", "ENABLED")}
        if "EventPattern" in p:
            kwargs["EventPattern"] = (
                json.dumps(p["EventPattern"]) if not isinstance(p["EventPattern"], str) else p["EventPattern"]
            )
        if "ScheduleExpression" in p:
            kwargs["ScheduleExpression"] = p["ScheduleExpression"]
        if p.get("Description"):
            kwargs["Description"] = p["Description"]
        arn = ev.put_rule(**kwargs)["RuleArn"]
        targets = []
        for t in p.get("Targets", []):
            unsupported = set(t) - {
                "Id",
                "Arn",
                "Input",
                "InputPath",
                "InputTransformer",
                "RoleArn",
                "RetryPolicy",
                "DeadLetterConfig",
            }
            if unsupported:
                raise TemplateError(f"{lid}: target property {', '.join(unsupported)} is not supported")
            targets.append(t)
        if targets:
            ev.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        if "ScheduleExpression" in p:
            self.schedules.append(
                {
                    "name": name,
                    "expression": p["ScheduleExpression"],
                    "arn": arn,
                    "bus": bus,
                    "enabled": p.get("State", "ENABLED") == "ENABLED",
                }
            )
        return Created(name, {"Arn": arn})

    # ------------------------------------------------------------------ IAM
    def _create_IAM_Role(self, lid: str, p: dict[str, Any]) -> Created:
        iam = self.client("iam")
        name = p.get("RoleName") or self._name(lid, 64)
        try:
            arn = iam.create_role(
                RoleName=name,
                AssumeRolePolicyDocument=json.dumps(p["AssumeRolePolicyDocument"]),
                Path=p.get("Path", "/"),
            )["Role"]["Arn"]
        except iam.exceptions.EntityAlreadyExistsException:
            arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        for pol in p.get("Policies", []):
            # SAM's policy templates omit Version; IAM then assumes 2012-10-17, moto insists on it.
            doc = {"Version": "2012-10-17", **pol["PolicyDocument"]}
            iam.put_role_policy(RoleName=name, PolicyName=pol["PolicyName"], PolicyDocument=json.dumps(doc))
        return Created(name, {"Arn": arn, "RoleId": name})

    def _create_IAM_Policy(self, lid: str, p: dict[str, Any]) -> Created:
        for role in p.get("Roles", []):
            self.client("iam").put_role_policy(
                RoleName=role, PolicyName=p["PolicyName"], PolicyDocument=json.dumps(p["PolicyDocument"])
            )
        return Created(p["PolicyName"])

    # ------------------------------------------------------------------ Lambda
    def _deps(self, folder: Path) -> list[str]:
        built = deps.build_deps_dir(folder / "requirements.txt", self.build_dir / "deps")
        return [str(built)] if built else []

    def _create_Lambda_LayerVersion(self, lid: str, p: dict[str, Any]) -> Created:
        folder = local_path(self.root, p["Content"])
        name = p.get("LayerName") or self._name(lid, 64)
        arn = self.client("lambda").publish_layer_version(
            LayerName=name,
            Content={"ZipFile": _tiny_zip(folder)},
            CompatibleRuntimes=p.get("CompatibleRuntimes", []),
        )["LayerVersionArn"]
        self._layer_paths[arn] = [str(folder), *self._deps(folder)]
        return Created(arn)

    def _create_Lambda_Function(self, lid: str, p: dict[str, Any]) -> Created:
        lam = self.client("lambda")
        name = p.get("FunctionName") or self._name(lid, 64)
        env = {k: str(v) for k, v in ((p.get("Environment") or {}).get("Variables") or {}).items()}
        if p.get("PackageType") == "Image":
            code_paths, handler, runtime = self._image_function(lid, p)
        else:
            folder = local_path(self.root, p["Code"])
            handler, runtime = p["Handler"], p.get("Runtime", "")
            code_paths = [str(folder), *self._deps(folder)]
            for layer_arn in p.get("Layers", []):
                if layer_arn not in self._layer_paths:
                    raise TemplateError(f"{lid}: layer {layer_arn} is not defined in this template")
                code_paths += self._layer_paths[layer_arn]
        self._check_runtime(lid, runtime)
        kwargs: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": runtime,
            "Role": p["Role"],
            "Handler": handler,
            "Code": {"ZipFile": _tiny_zip(Path(code_paths[0]))},
            "Timeout": int(p.get("Timeout", 3)),
            "MemorySize": int(p.get("MemorySize", 128)),
            "Environment": {"Variables": env},
            "Layers": p.get("Layers", []),
        }
        try:
            arn = lam.create_function(**kwargs)["FunctionArn"]
        except lam.exceptions.ResourceConflictException:
            kwargs.pop("Code")
            lam.update_function_configuration(**kwargs)
            arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        self.runtime.register(
            FunctionSpec(
                name=name,
                arn=arn,
                handler=handler,
                code_paths=code_paths,
                environment=env,
                timeout=float(p.get("Timeout", 3)),
                memory_mb=int(p.get("MemorySize", 128)),
                runtime=runtime,
                on_failure=((p.get("DeadLetterConfig") or {}).get("TargetArn")),
            )
        )
        self.functions[lid] = name
        return Created(name, {"Arn": arn})

    def _image_function(self, lid: str, p: dict[str, Any]) -> tuple[list[str], str, str]:
        """Code paths, handler and runtime of a container image function, from its Dockerfile."""

        metadata = (self.sam["Resources"].get(lid) or {}).get("Metadata") or {}
        if "Dockerfile" not in metadata:
            raise TemplateError(
                f"{lid}: an Image function needs Metadata Dockerfile/DockerContext for the local cloud"
            )
        image = build_local_image(root=self.root, logical_id=lid, metadata=metadata, build_dir=self.build_dir)
        command = (p.get("ImageConfig") or {}).get("Command") or ([image.handler] if image.handler else [])
        if not command:
            raise TemplateError(f"{lid}: the image sets no handler (CMD or ImageConfig.Command)")
        # AWS's python3.12 base image; the Dockerfile's FROM was checked by build_local_image.
        return image.code_paths, str(command[0]), "python3.12"

    @staticmethod
    def _check_runtime(lid: str, runtime: str) -> None:
        global _WARNED_RUNTIME
        if not runtime.startswith("python"):
            raise TemplateError(f"{lid}: runtime {runtime} is not supported by the local cloud (Python only)")
        local = f"python{sys.version_info.major}.{sys.version_info.minor}"
        if runtime != local and not _WARNED_RUNTIME:
            print(
                f"local cloud: functions declare {runtime}; running them with this interpreter, {local}",
                file=sys.stderr,
            )
            _WARNED_RUNTIME = True

    def _create_Lambda_Permission(self, lid: str, p: dict[str, Any]) -> Created:
        return Created(f"{lid}-permission")  # the local cloud does not enforce resource policies

    def _create_Lambda_EventInvokeConfig(self, lid: str, p: dict[str, Any]) -> Created:
        spec = self.runtime.resolve(p["FunctionName"])
        if "MaximumRetryAttempts" in p:
            spec.max_retry_attempts = int(p["MaximumRetryAttempts"])
        if "MaximumEventAgeInSeconds" in p:
            spec.max_event_age_seconds = int(p["MaximumEventAgeInSeconds"])
        dest = p.get("DestinationConfig") or {}
        spec.on_failure = (dest.get("OnFailure") or {}).get("Destination") or spec.on_failure
        spec.on_success = (dest.get("OnSuccess") or {}).get("Destination")
        return Created(f"{spec.name}-invoke-config")

    def _create_Lambda_EventSourceMapping(self, lid: str, p: dict[str, Any]) -> Created:
        kwargs = {
            k: v
            for k, v in p.items()
            if k in ("EventSourceArn", "FunctionName", "BatchSize", "Enabled", "StartingPosition")
        }
        uuid = self.client("lambda").create_event_source_mapping(**kwargs)["UUID"]
        return Created(uuid)

    # ------------------------------------------------------------------ Step Functions
    def _create_StepFunctions_StateMachine(self, lid: str, p: dict[str, Any]) -> Created:
        sfn = self.client("stepfunctions")
        name = p.get("StateMachineName") or self._name(lid, 80)
        definition = p["DefinitionString"]
        for key, value in (p.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        json.loads(definition)  # a broken substitution fails here, naming the machine below
        arn = f"arn:aws:states:{self.region}:{ACCOUNT_ID}:stateMachine:{name}"
        try:
            sfn.describe_state_machine(stateMachineArn=arn)
            sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=p["RoleArn"])
        except sfn.exceptions.StateMachineDoesNotExist:
            arn = sfn.create_state_machine(
                name=name,
                definition=definition,
                roleArn=p["RoleArn"],
                type=p.get("StateMachineType", "STANDARD"),
            )["stateMachineArn"]
        return Created(arn, {"Name": name, "Arn": arn})

    # ------------------------------------------------------------------ SNS / SQS / logs / SSM
    def _create_SNS_Topic(self, lid: str, p: dict[str, Any]) -> Created:
        sns = self.client("sns")
        name = p.get("TopicName") or self._name(lid, 256)
        arn = sns.create_topic(Name=name)["TopicArn"]
        for sub in p.get("Subscription", []):
            sns.subscribe(TopicArn=arn, Protocol=sub["Protocol"], Endpoint=sub["Endpoint"])
        return Created(arn, {"TopicArn": arn, "TopicName": name})

    def _create_SNS_TopicPolicy(self, lid: str, p: dict[str, Any]) -> Created:
        for topic in p["Topics"]:
            self.client("sns").set_topic_attributes(
                TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(p["PolicyDocument"])
            )
        return Created(f"{lid}-policy")

    def _create_SNS_Subscription(self, lid: str, p: dict[str, Any]) -> Created:
        arn = self.client("sns").subscribe(
            TopicArn=p["TopicArn"], Protocol=p["Protocol"], Endpoint=p["Endpoint"]
        )["SubscriptionArn"]
        return Created(arn)

    def _create_SQS_Queue(self, lid: str, p: dict[str, Any]) -> Created:
        sqs = self.client("sqs")
        name = p.get("QueueName") or self._name(lid, 80)
        attrs = {k: str(v) for k, v in p.items() if k in ("MessageRetentionPeriod", "VisibilityTimeout")}
        if "RedrivePolicy" in p:
            attrs["RedrivePolicy"] = json.dumps(p["RedrivePolicy"])
        url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return Created(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    def _create_SQS_QueuePolicy(self, lid: str, p: dict[str, Any]) -> Created:
        return Created(f"{lid}-policy")

    def _create_Logs_LogGroup(self, lid: str, p: dict[str, Any]) -> Created:
        logs = self.client("logs")
        name = p.get("LogGroupName") or self._name(lid, 512)
        try:
            logs.create_log_group(logGroupName=name)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        return Created(name, {"Arn": f"arn:aws:logs:{self.region}:{ACCOUNT_ID}:log-group:{name}:*"})

    def _create_SSM_Parameter(self, lid: str, p: dict[str, Any]) -> Created:
        name = p.get("Name") or self._name(lid, 128)
        self.client("ssm").put_parameter(Name=name, Type=p["Type"], Value=p["Value"], Overwrite=True)
        return Created(name, {"Type": p["Type"], "Value": p["Value"]})

    # ------------------------------------------------------------------ API Gateway
    def _create_ApiGateway_RestApi(self, lid: str, p: dict[str, Any]) -> Created:
        # Served by the local API Gateway from the SAM events; the id is stable per stack.
        api_id = hashlib.sha256(f"{self.stack_name}/{lid}".encode()).hexdigest()[:10]
        self._rest_apis[lid] = api_id
        return Created(api_id, {"RootResourceId": f"{api_id}-root"})

    def _create_ApiGateway_Deployment(self, lid: str, p: dict[str, Any]) -> Created:
        return Created(hashlib.sha256(lid.encode()).hexdigest()[:6])

    def _create_ApiGateway_Stage(self, lid: str, p: dict[str, Any]) -> Created:
        return Created(p["StageName"])

    def _api_info(self, sam: dict[str, Any]) -> dict[str, Any] | None:
        if not self._rest_apis:
            return None
        return {"rest_apis": dict(self._rest_apis)}


def _tiny_zip(folder: Path) -> bytes:
    """A placeholder package: the local runtime runs the folder itself, so edits show on redeploy."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("LOCAL_CODE_PATH", str(folder))
    return buf.getvalue()
