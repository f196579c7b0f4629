"""Security checks: the translated template, static analysis, and refusals on the running platform.

Static (no cloud): the SAM template translated as ``sam deploy`` would (``localcloud.template``),
then its IAM policies evaluated action by action (least privilege per function, no wildcard actions
on data, the serving role unable to write the registry), buckets (public access blocked, TLS only),
the API (every route behind the authorizer except ``/health``), the state machines (every Task has
a timeout); ``cfn-lint`` with the serverless rules, ``checkov`` and ``bandit``; and an AST scan that
bans untrusted deserialisation in the code shipped to Lambda.

On the local cloud: a flipped byte in a model or a baseline is refused (HTTP API, drift function),
and promotion or approval without an admin identity is refused.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from localcloud.intrinsics import Resolver
from localcloud.template import load_template, translate
from lockgate.domain.model_version import CHAMPION
from reliability_support import ROOT, cancer_instances, items, registry, train
from support.platform import Platform

REGION, ACCOUNT = "us-east-1", "123456789012"
BIN = Path(sys.executable).parent
CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv" / "tools" / "checkov" / "bin" / "checkov"))


# --------------------------------------------------------------------------- the translated template


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    sam = load_template(ROOT / "template.yaml")
    params = {k: str(v["Default"]) for k, v in (sam.get("Parameters") or {}).items() if "Default" in v}
    return translate(sam, ROOT, params, REGION)


def _physical(cfn: dict[str, Any], resolver: Resolver, lid: str) -> str:
    props = cfn["Resources"][lid].get("Properties") or {}
    for name_prop in ("BucketName", "TableName", "FunctionName", "Name", "TopicName", "StateMachineName"):
        if name_prop in props:
            return str(resolver.resolve(props[name_prop]))
    return lid


def _arn(cfn: dict[str, Any], resolver: Resolver, lid: str) -> str:
    kind = cfn["Resources"][lid]["Type"]
    name = _physical(cfn, resolver, lid)
    return {
        "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
        "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
        "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        "AWS::StepFunctions::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}",
        "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}",
        "AWS::Events::EventBus": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}",
        "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
    }.get(kind, f"arn:aws:unknown:{REGION}:{ACCOUNT}:{name}")


def _resolver(cfn: dict[str, Any]) -> Resolver:
    sam = load_template(ROOT / "template.yaml")
    params = {k: str(v["Default"]) for k, v in (sam.get("Parameters") or {}).items() if "Default" in v}
    holder: dict[str, Resolver] = {}

    def ref(lid: str) -> str:
        kind = cfn["Resources"][lid]["Type"]
        if kind in ("AWS::StepFunctions::StateMachine", "AWS::SNS::Topic"):
            return _arn(cfn, holder["r"], lid)
        return _physical(cfn, holder["r"], lid)

    def get_att(lid: str, attr: str) -> str:
        if attr == "Arn":
            return _arn(cfn, holder["r"], lid)
        return _physical(cfn, holder["r"], lid)

    pseudo = {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": "aws",
        "AWS::StackName": "lockgate",
        "AWS::URLSuffix": "amazonaws.com",
    }
    holder["r"] = Resolver(parameters=params, pseudo=pseudo, ref=ref, get_att=get_att)
    return holder["r"]


# Managed policies SAM attaches: logs and traces only, no data.
_MANAGED_OK = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}


def _statements(cfn: dict[str, Any], function: str) -> list[dict[str, Any]]:
    resolver = _resolver(cfn)
    role = cfn["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    props = cfn["Resources"][role]["Properties"]
    unknown = set(props.get("ManagedPolicyArns", [])) - _MANAGED_OK
    assert not unknown, f"{function}: managed policies beyond logs/traces: {unknown}"
    out: list[dict[str, Any]] = []
    for policy in props.get("Policies", []):
        statements = resolver.resolve(policy["PolicyDocument"])["Statement"]
        out += statements if isinstance(statements, list) else [statements]
    return out


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def allowed(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    """IAM's rule, conservatively: any matching Allow (conditions ignored) and no matching Deny."""

    def matches(st: dict[str, Any]) -> bool:
        acts = _as_list(st.get("Action", "*"))
        res = _as_list(st.get("Resource", "*"))
        return any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in acts) and any(
            fnmatch.fnmatchcase(resource, r) for r in res
        )

    if any(st.get("Effect") == "Deny" and matches(st) for st in statements):
        return False
    return any(st.get("Effect") == "Allow" and matches(st) for st in statements)


def _functions(cfn: dict[str, Any]) -> list[str]:
    return sorted(k for k, v in cfn["Resources"].items() if v["Type"] == "AWS::Lambda::Function")


def test_every_function_has_its_own_role(cfn: dict[str, Any]) -> None:
    roles = [cfn["Resources"][f]["Properties"]["Role"]["Fn::GetAtt"][0] for f in _functions(cfn)]
    assert len(roles) == len(set(roles)) == len(_functions(cfn)) >= 12


def test_no_wildcard_actions_or_resources_on_data(cfn: dict[str, Any]) -> None:
    data_services = ("s3", "dynamodb", "sqs", "sns", "states", "events", "lambda")
    problems = []
    for function in _functions(cfn):
        for st in _statements(cfn, function):
            if st.get("Effect") != "Allow":
                continue
            if "NotAction" in st or "NotResource" in st:
                problems.append(f"{function}: NotAction/NotResource")
            for action in _as_list(st.get("Action")):
                service, _, verb = action.partition(":")
                if action == "*" or "*" in verb:
                    problems.append(f"{function}: wildcard action {action}")
                if service in ("s3", "dynamodb", "sqs", "sns") and "*" in _as_list(st.get("Resource")):
                    problems.append(f"{function}: {action} on every resource")
            assert not any(
                a.split(":")[0] not in (*data_services, "logs", "xray") for a in _as_list(st["Action"])
            ), st
    assert not problems, problems


DATA = "arn:aws:s3:::lockgate-data-dev-123456789012-us-east-1"
ART = "arn:aws:s3:::ArtifactBucket"  # no BucketName: the logical id stands in
REGISTRY = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/RegistryTable"
WRITES = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")
LEAST_PRIVILEGE = [
    # the serving role reads what it serves and appends captures; it cannot write the registry
    ("ApiFunction", "dynamodb:GetItem", REGISTRY, True),
    *(("ApiFunction", w, REGISTRY, False) for w in WRITES),
    ("ApiFunction", "dynamodb:PartiQLUpdate", REGISTRY, False),
    ("ApiFunction", "s3:GetObject", f"{ART}/models/abc.onnx", True),
    ("ApiFunction", "s3:PutObject", f"{ART}/models/abc.onnx", False),
    ("ApiFunction", "s3:PutObject", f"{ART}/baselines/abc.json", False),
    ("ApiFunction", "s3:PutObject", f"{ART}/captures/m/date=2026-01-01/x.jsonl", True),
    ("ApiFunction", "s3:DeleteObject", f"{ART}/captures/m/x.jsonl", False),
    ("ApiFunction", "states:SendTaskSuccess", "*", False),
    # the authorizer reads token items only
    ("AuthorizerFunction", "dynamodb:GetItem", REGISTRY, True),
    ("AuthorizerFunction", "dynamodb:Query", REGISTRY, False),
    ("AuthorizerFunction", "dynamodb:PutItem", REGISTRY, False),
    ("AuthorizerFunction", "s3:GetObject", f"{ART}/models/abc.onnx", False),
    # admin routes write the registry and resume executions
    ("AdminApiFunction", "dynamodb:UpdateItem", REGISTRY, True),
    ("AdminApiFunction", "s3:PutObject", f"{ART}/models/abc.onnx", False),
    # nobody but a user (and drift retraining, under datasets/) writes the data bucket
    ("IngestFunction", "s3:GetObject", f"{DATA}/datasets/m/x.csv", True),
    ("IngestFunction", "s3:PutObject", f"{DATA}/datasets/m/x.csv", False),
    ("IngestFunction", "s3:DeleteObject", f"{DATA}/datasets/m/x.csv", False),
    ("ValidateFunction", "s3:PutObject", f"{DATA}/datasets/m/x.csv", False),
    ("TrainFunction", "s3:PutObject", f"{DATA}/specs/m.yaml", False),
    ("TrainFunction", "s3:PutObject", f"{ART}/models/abc.onnx", True),
    ("TrainFunction", "dynamodb:DeleteItem", REGISTRY, False),
    ("DriftFunction", "s3:PutObject", f"{DATA}/specs/m.yaml", False),
    ("DriftFunction", "s3:PutObject", f"{DATA}/datasets/m/retrain.csv", True),
    # evaluation judges; it writes no artifacts
    ("EvaluateFunction", "s3:PutObject", f"{ART}/models/abc.onnx", False),
    ("EvaluateFunction", "dynamodb:PutItem", REGISTRY, False),
    ("RegisterFunction", "s3:PutObject", f"{ART}/models/abc.onnx", False),
    ("RegisterFunction", "s3:PutObject", f"{ART}/cards/abc.md", True),
    ("BatchFunction", "s3:PutObject", f"{ART}/models/abc.onnx", False),
    *(
        (f, "iam:PassRole", "*", False)
        for f in ("ApiFunction", "IngestFunction", "TrainFunction", "DriftFunction")
    ),
    *((f, "dynamodb:DeleteTable", REGISTRY, False) for f in ("AdminApiFunction", "PromoteFunction")),
]


@pytest.mark.parametrize(("function", "action", "resource", "expected"), LEAST_PRIVILEGE)
def test_least_privilege(
    cfn: dict[str, Any], function: str, action: str, resource: str, expected: bool
) -> None:
    assert allowed(_statements(cfn, function), action, resource) is expected


def test_buckets_block_public_access_and_refuse_plain_http(cfn: dict[str, Any]) -> None:
    resources = cfn["Resources"]
    buckets = [k for k, v in resources.items() if v["Type"] == "AWS::S3::Bucket"]
    assert len(buckets) >= 2
    for bucket in buckets:
        block = resources[bucket]["Properties"]["PublicAccessBlockConfiguration"]
        assert all(
            block.get(k) is True
            for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
        ), bucket
        policies = [
            v["Properties"]["PolicyDocument"]
            for v in resources.values()
            if v["Type"] == "AWS::S3::BucketPolicy" and v["Properties"]["Bucket"] == {"Ref": bucket}
        ]
        denies = [
            st
            for doc in policies
            for st in doc["Statement"]
            if st["Effect"] == "Deny"
            and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)
            and "s3:*" in _as_list(st["Action"])
        ]
        assert denies, f"{bucket} does not refuse plain HTTP"
        covered = {json.dumps(r, sort_keys=True) for st in denies for r in _as_list_raw(st["Resource"])}
        assert len(covered) >= 2, f"{bucket}: TLS-only must cover the bucket and its objects"


def test_queues_are_encrypted_and_kept(cfn: dict[str, Any]) -> None:
    for lid, res in cfn["Resources"].items():
        if res["Type"] != "AWS::SQS::Queue":
            continue
        props = res.get("Properties") or {}
        assert props.get("SqsManagedSseEnabled") is True or props.get("KmsMasterKeyId"), (
            f"{lid} is not encrypted"
        )
        if "RedrivePolicy" not in props:  # a dead-letter queue: keep failures long enough for a person
            assert int(props.get("MessageRetentionPeriod", 345600)) >= 7 * 24 * 3600, lid


def _as_list_raw(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


PUBLIC_ROUTES = {("/health", "get")}  # liveness for load balancers and uptime checks; returns no data


def test_every_api_route_is_behind_the_authorizer_except_health(cfn: dict[str, Any]) -> None:
    apis = [v for v in cfn["Resources"].values() if v["Type"] == "AWS::ApiGateway::RestApi"]
    assert apis
    seen = set()
    for api in apis:
        for path, methods in api["Properties"]["Body"]["paths"].items():
            for method, operation in methods.items():
                seen.add((path, method))
                schemes = {name for entry in operation.get("security", []) for name in entry}
                if (path, method) in PUBLIC_ROUTES:
                    assert schemes <= {"NONE"}, (path, method, schemes)
                else:
                    assert schemes == {"TokenAuthorizer"}, (path, method, schemes)
    assert PUBLIC_ROUTES <= seen and len(seen) >= 9


def _state_machines(cfn: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each state machine's definition as deployed (SAM joins it into DefinitionString lines)."""
    for lid, res in cfn["Resources"].items():
        if res["Type"] == "AWS::StepFunctions::StateMachine":
            text = res["Properties"]["DefinitionString"]
            if isinstance(text, dict):
                separator, lines = text["Fn::Join"]
                text = separator.join(lines)
            yield lid, json.loads(text)


def _tasks(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        if state["Type"] == "Task":
            yield name, state
        for branch in state.get("Branches", []):
            yield from _tasks(branch["States"])
        if "Iterator" in state or "ItemProcessor" in state:
            yield from _tasks((state.get("ItemProcessor") or state["Iterator"])["States"])


def test_every_task_has_a_timeout(cfn: dict[str, Any]) -> None:
    machines = dict(_state_machines(cfn))
    assert {"TrainingStateMachine", "BatchStateMachine"} <= set(machines)
    for lid, definition in machines.items():
        tasks = dict(_tasks(definition["States"]))
        assert tasks, lid
        for name, task in tasks.items():
            assert "TimeoutSeconds" in task or "TimeoutSecondsPath" in task, f"{lid}.{name} has no timeout"


# --------------------------------------------------------------------------- linters


def _cfn_lint() -> list[dict[str, Any]]:
    run = subprocess.run(
        [
            str(BIN / "cfn-lint"),
            "-a",
            "cfn_lint_serverless.rules",
            "-f",
            "json",
            "-t",
            str(ROOT / "template.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert run.returncode in (0, 2, 4, 6, 8, 10, 12, 14), run.stderr
    findings: list[dict[str, Any]] = json.loads(run.stdout or "[]")
    return findings


# Serverless-rule findings accepted for now, each with its reason (the lead has the list of gaps).
CFN_LINT_WAIVED = {
    "WS1004": "log groups with retention exist for the scheduled and S3-triggered functions; the others "
    "keep Lambda's default group (to add: one AWS::Logs::LogGroup per function)",
    "ES2000": "API access logging needs an access-log group and an account-level CloudWatch role (gap)",
    "ES2003": "API stage throttling (MethodSettings) not set yet (gap)",
    "ES6000": "flags the dead-letter queue itself (a DLQ of the DLQ would add nothing); "
    "test_queues_are_encrypted_and_kept checks it",
}
# Findings that break a promise: tested on their own below, as known bugs.
CFN_LINT_LOST_EVENTS = {"ES1007", "ES4000"}


def test_cfn_lint_with_the_serverless_rules_finds_nothing_unexplained() -> None:
    findings = _cfn_lint()
    rules = {f["Rule"]["Id"] for f in findings}
    assert rules, "cfn-lint reported nothing at all: are the serverless rules loaded?"
    unexplained = [
        f"{f['Rule']['Id']} {f['Message']}"
        for f in findings
        if f["Rule"]["Id"] not in CFN_LINT_WAIVED and f["Rule"]["Id"] not in CFN_LINT_LOST_EVENTS
    ]
    assert not unexplained, unexplained


def test_async_invocations_have_an_on_failure_destination() -> None:
    lost = [
        f"{f['Rule']['Id']} {f['Message']}" for f in _cfn_lint() if f["Rule"]["Id"] in CFN_LINT_LOST_EVENTS
    ]
    assert not lost, lost


def test_checkov_on_the_translated_template(cfn: dict[str, Any], tmp_path: Path) -> None:
    if not CHECKOV.exists():
        if os.environ.get("CI"):
            pytest.fail(f"checkov is not installed at {CHECKOV}: run `make security` (it installs it)")
        pytest.skip(f"checkov not installed at {CHECKOV}; `make security` installs it")
    template = tmp_path / "translated.json"
    template.write_text(json.dumps(cfn, indent=1))
    run = subprocess.run(
        [
            str(CHECKOV),
            "--config-file",
            str(Path(__file__).with_name("checkov.yaml")),
            "-f",
            str(template),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(run.stdout)
    results = report["results"]
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in results.get("failed_checks", [])]
    assert not failed, failed
    passed = {c["check_id"] for c in results["passed_checks"]}
    # the checks behind the promises ran (a parse failure would pass vacuously)
    assert {"CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV_AWS_63", "CKV_AWS_111"} <= passed


# bandit findings that are false positives, each checked here or by the AST scan below
BANDIT_FALSE_POSITIVES = {
    ("infra/localcloud/template.py", "B506"): "yaml.load with a SafeLoader subclass (test below checks it)",
    ("infra/localcloud/apigateway.py", "B104"): "compares a host with '0.0.0.0' to print a loopback URL",
}


def test_bandit_finds_nothing_unexplained() -> None:
    run = subprocess.run(
        [
            str(BIN / "bandit"),
            "-c",
            "pyproject.toml",
            "-r",
            "layers",
            "functions",
            "infra",
            "-f",
            "json",
            "-q",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    report = json.loads(run.stdout)
    assert report["metrics"]["_totals"]["loc"] > 5000, "bandit scanned (almost) nothing"
    found = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
        for r in report["results"]
        if (r["filename"].removeprefix("./"), r["test_id"]) not in BANDIT_FALSE_POSITIVES
    ]
    assert not found, found


# --------------------------------------------------------------------------- untrusted deserialisation

BANNED_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "shelve", "marshal", "jsonpickle"}
BANNED_CALLS = {
    "joblib.load",
    "pandas.read_pickle",
    "pd.read_pickle",
    "torch.load",
    "yaml.unsafe_load",
    "yaml.full_load",
    "yaml.full_load_all",
    "yaml.unsafe_load_all",
}
SAFE_YAML_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def deserialisation_problems(source: str, where: str = "<source>") -> list[str]:
    """Untrusted-deserialisation calls and imports in ``source``."""
    tree = ast.parse(source)
    safe_loaders = set(SAFE_YAML_LOADERS)
    for node in ast.walk(tree):  # classes deriving from a safe loader are safe loaders
        if isinstance(node, ast.ClassDef) and any(
            _dotted(b).split(".")[-1] in safe_loaders for b in node.bases
        ):
            safe_loaders.add(node.name)
    problems = []
    for node in ast.walk(tree):
        line = f"{where}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            problems += [
                f"{line} import {a.name}" for a in node.names if a.name.split(".")[0] in BANNED_MODULES
            ]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in BANNED_MODULES:
            problems.append(f"{line} from {node.module} import ...")
        elif isinstance(node, ast.ImportFrom) and node.module == "joblib":
            problems += [f"{line} from joblib import load" for a in node.names if a.name == "load"]
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            keywords = {k.arg: k.value for k in node.keywords}
            if name in BANNED_CALLS:
                problems.append(f"{line} {name}()")
            elif name.endswith(("np.load", "numpy.load")):
                flag = keywords.get("allow_pickle")  # numpy's default is False today; say so explicitly
                if not (isinstance(flag, ast.Constant) and flag.value is False):
                    problems.append(f"{line} {name}() without allow_pickle=False")
            elif name in ("yaml.load", "yaml.load_all"):
                loader = keywords.get("Loader") or (node.args[1] if len(node.args) > 1 else None)
                if loader is None or _dotted(loader).split(".")[-1] not in safe_loaders:
                    problems.append(f"{line} {name}() without a safe Loader")
    return problems


def test_the_deserialisation_scanner_catches_what_it_bans() -> None:
    hostile = """
import pickle
from cloudpickle import loads
import joblib, numpy as np, yaml, pandas as pd
joblib.load("m.joblib")
np.load("a.npy", allow_pickle=True)
np.load("a.npy")
pd.read_pickle("x")
yaml.load(text)
yaml.load(text, Loader=yaml.FullLoader)
yaml.unsafe_load(text)
"""
    assert len(deserialisation_problems(hostile)) == 9
    safe = """
import yaml, numpy as np
class L(yaml.SafeLoader): pass
yaml.load(text, Loader=L)
yaml.safe_load(text)
np.load("a.npy", allow_pickle=False)
"""
    assert deserialisation_problems(safe) == []


def _shipped_sources() -> list[Path]:
    """Everything that runs in Lambda: every function's code and the core layer."""
    return sorted((ROOT / "functions").glob("*/**/*.py")) + sorted((ROOT / "layers" / "core").rglob("*.py"))


def test_no_untrusted_deserialisation_in_code_shipped_to_lambda() -> None:
    sources = _shipped_sources()
    # the serving and ingestion paths are in the scan
    names = {p.relative_to(ROOT).as_posix() for p in sources}
    for required in (
        "functions/api/app.py",
        "functions/ingest/app.py",
        "functions/validate/app.py",
        "functions/batch/app.py",
        "functions/drift/app.py",
        "functions/api/chalicelib/predictions.py",
        "layers/core/lockgate/serving/predictor.py",
        "layers/core/lockgate/serving/signature.py",
        "layers/core/lockgate/ml/tabular.py",
        "layers/core/lockgate/services/ingest.py",
        "layers/core/lockgate/adapters/s3.py",
    ):
        assert required in names, required
    problems = [
        p for path in sources for p in deserialisation_problems(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert not problems, problems


def test_yaml_in_the_local_cloud_and_cli_is_loaded_safely() -> None:
    problems = [
        p
        for path in sorted((ROOT / "infra").rglob("*.py"))
        for p in deserialisation_problems(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert not problems, problems


# --------------------------------------------------------------------------- on the local cloud


@pytest.fixture(scope="module")
def fresh(platform: Platform) -> str:
    """A champion nobody has asked for a prediction yet (no session cached in the API's workers)."""
    model = "sec-integrity"
    train(platform, model, monitoring={"min_samples": 10})
    return model


def _flip_one_byte(platform: Platform, key: str) -> bytes:
    original: bytes = platform.s3.get_object(Bucket=platform.artifact_bucket, Key=key)["Body"].read()
    corrupt = bytearray(original)
    corrupt[len(corrupt) // 2] ^= 0x01
    platform.s3.put_object(Bucket=platform.artifact_bucket, Key=key, Body=bytes(corrupt))
    return original


@pytest.mark.integration
def test_a_model_with_one_flipped_byte_is_refused_by_the_api(platform: Platform, fresh: str) -> None:
    version = registry(platform).get_version_by_alias(fresh, CHAMPION)
    key = f"models/{version.model_artifact}.onnx"
    original = _flip_one_byte(platform, key)
    try:
        response = platform.predict(fresh, cancer_instances(2, seed=8))
        body = response.json()
        assert response.status_code >= 400 and "predictions" not in body, body
        assert body["error"] == "IntegrityError", body
        assert "internal error" not in body["message"] and "Traceback" not in response.text
    finally:
        platform.s3.put_object(Bucket=platform.artifact_bucket, Key=key, Body=original)
    # the intact bytes are served again
    assert platform.predict(fresh, cancer_instances(2, seed=8)).status_code == 200


def _invoke_drift(platform: Platform, payload: dict[str, Any]) -> dict[str, Any]:
    response = platform.cloud.client("lambda").invoke(
        FunctionName=platform.cloud.function_name("DriftFunction"), Payload=json.dumps(payload).encode()
    )
    body: dict[str, Any] = json.loads(response["Payload"].read())
    return body


@pytest.fixture
def corrupt_baseline(platform: Platform, fresh: str) -> Iterator[str]:
    version = registry(platform).get_version_by_alias(fresh, CHAMPION)
    key = f"baselines/{version.baseline_id}.json"
    original = _flip_one_byte(platform, key)
    try:
        yield fresh
    finally:
        platform.s3.put_object(Bucket=platform.artifact_bucket, Key=key, Body=original)


@pytest.mark.integration
def test_a_baseline_with_one_flipped_byte_is_refused_by_the_scheduled_drift_check(
    platform: Platform, corrupt_baseline: str
) -> None:
    from datetime import UTC, datetime, timedelta

    rule = next(r for r in platform.cloud.scheduler.rules() if "Drift" in r.name)
    event = platform.cloud.scheduler.scheduled_event(rule, datetime.now(UTC) + timedelta(hours=2))
    body = _invoke_drift(platform, event)
    [check] = [c for c in body["checks"] if c.get("model") == corrupt_baseline]
    assert check.get("skipped") and check["error"] == "IntegrityError", check
    assert not items(platform, corrupt_baseline, "DRIFT#"), "a check was recorded against a corrupt baseline"


@pytest.mark.integration
def test_a_baseline_with_one_flipped_byte_is_refused_by_a_direct_drift_check(
    platform: Platform, corrupt_baseline: str
) -> None:
    from datetime import UTC, datetime

    body = _invoke_drift(
        platform, {"model": corrupt_baseline, "force": True, "now": datetime.now(UTC).isoformat()}
    )
    assert body.get("ok") is False and body.get("error") == "IntegrityError", body
    assert not items(platform, corrupt_baseline, "DRIFT#")


@pytest.mark.integration
def test_promotion_and_approval_need_an_admin_identity(platform: Platform) -> None:
    from test_concurrency import _register

    model = "sec-admin"
    reg = registry(platform)
    first = _register(reg, model, "run-a", "Approved")
    second = _register(reg, model, "run-b", "PendingManualApproval")
    reg.set_alias(model, CHAMPION, first, actor="seed")
    attempts = [
        ("PUT", f"/models/{model}/aliases/{CHAMPION}", {"version": first}),
        ("POST", f"/models/{model}/versions/{second}/approve", {"comment": "let me in"}),
        ("POST", f"/models/{model}/versions/{second}/reject", {"comment": "let me in"}),
    ]
    for method, path, body in attempts:
        as_predict = platform.api(method, path, role="predict", json=body)
        assert as_predict.status_code == 403 and as_predict.json()["error"] == "Forbidden", as_predict.text
        anonymous = platform.api(method, path, role=None, json=body)
        assert anonymous.status_code == 401, anonymous.text
        forged = platform.api(
            method, path, role=None, json=body, headers={"Authorization": "Bearer lg_forged"}
        )
        assert forged.status_code in (401, 403), forged.text
    # nothing changed
    assert reg.get_model_version(model, second).status == "PendingManualApproval"
    assert [h.revision for h in reg.alias_history(model, CHAMPION)] == [1]
    # the admin identity can
    approved = platform.api("POST", f"/models/{model}/versions/{second}/approve", role="admin", json={})
    assert approved.status_code == 200, approved.text
