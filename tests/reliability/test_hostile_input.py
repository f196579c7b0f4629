"""Hostile uploads, property-based: every file and every key ends accepted or in a recorded rejection.

Hypothesis generates CSV files (encodings, delimiters, ragged rows, huge fields, quotes and
newlines in fields, NaN/inf strings, gzip, truncated gzip, binary noise) and object keys (unicode,
``+``, ``%2F``, ``..``, 1,024-byte keys). Most examples run the real ``ingest`` and ``validate``
handlers in this process against the package's moto server (fast: no worker processes, no state
machine); a few go through the whole local cloud, where the
training pipeline must end, for each, in acceptance or a named rejection, never a crash or a
stuck execution.

Pass: the ingest handler never raises; the validate handler raises nothing but
``DatasetRejectedError``; every refusal is recorded with a reason a person can act on.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lockgate.adapters import aws
from lockgate.adapters.dynamodb.datasets import DynamoDBDatasetStore
from lockgate.config import settings as lockgate_settings
from lockgate.errors import DatasetRejectedError
from reliability_support import PROFILE, ROOT, Figures, executions_of, items, wait_until_settled
from support.datasets import make_synthetic
from support.handlers import FakeContext, load_function
from support.platform import Platform
from support.resources import load_template

MODEL = "hostile"
# The key tests are about keys: generous change gates, so that which earlier example happened to be
# the "last accepted dataset" (more examples in the soak profile) cannot reject a later one.
SPEC = {
    "model": MODEL,
    "task": "classification",
    "target": "y",
    "gates": {"data": {"min_rows": 5, "max_range_shift": 1000.0, "max_new_category_share": 1.0}},
}
MAX_DECOMPRESSED = 2_000_000
HOSTILE = settings(
    max_examples=PROFILE.examples,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# --------------------------------------------------------------------------- strategies

_text = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=30)
_cell = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        ["nan", "NaN", "inf", "-inf", "Infinity", "-Infinity", "NA", "null", "", " ", "1e309", "0x1F"]
    ),
    _text,
    _text.map(lambda t: '"' + t.replace('"', '""') + '"'),  # quoted, possibly with delimiters/newlines
    st.sampled_from(["a" * 20_000, "," * 5000, '"' * 999, "\n" * 50, "\r\n"]),  # huge or nasty fields
)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A CSV-ish file: sometimes well formed, often not."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=2000))  # noise
    width = draw(st.integers(1, 6))
    well_formed = draw(st.booleans())
    if well_formed:  # a file a person meant to be right: it should get through when its values allow
        delimiter = ","
        header = [f"x{i}" for i in range(width - 1)] + ["y"]
    else:
        delimiter = draw(st.sampled_from([",", ",", ";", "\t", "|"]))
        header = [
            draw(st.sampled_from(["y", "x1", "x2", "name", "", "y", "é", "col,umn"])) for _ in range(width)
        ]
        if draw(st.booleans()):
            header[-1] = "y"
    rows = []
    for i in range(draw(st.integers(0, 60))):
        if well_formed:
            row = [str(draw(st.integers(0, 99))) for _ in range(width - 1)] + [("yes", "no")[i % 2]]
        else:
            row = draw(st.lists(_cell, min_size=0, max_size=width + 2))
        rows.append(delimiter.join(row))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join([delimiter.join(header), *rows]) + draw(st.sampled_from(["", newline]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]))
    data = text.encode(encoding, errors="replace")
    compression = draw(st.sampled_from(["none", "none", "gzip", "truncated-gzip", "double-gzip"]))
    if compression == "gzip":
        data = gzip.compress(data, mtime=0)
    elif compression == "truncated-gzip":
        packed = gzip.compress(data, mtime=0)
        data = packed[: max(2, len(packed) // 2)]
    elif compression == "double-gzip":
        data = gzip.compress(gzip.compress(data, mtime=0), mtime=0)
    return data


_name_part = st.one_of(
    _text.filter(lambda t: t not in ("", ".", "..") and "/" not in t),
    st.sampled_from(
        ["a+b.csv", "a%2Fb.csv", "%2e%2e", "..", ".", "über café.csv", "日本語.csv", "x y+z%20.csv"]
    ),
)


@st.composite
def object_keys(draw: st.DrawFn) -> str:
    """Keys under datasets/ (the trigger's prefix), hostile in every part, at most 1,024 UTF-8 bytes."""
    model = draw(
        st.sampled_from([MODEL, MODEL, MODEL, "", "..", "UPPER", "has space", "ünicode", MODEL + "/.."])
    )
    parts = draw(st.lists(_name_part, min_size=1, max_size=3))
    key = "datasets/" + model + "/" + "/".join(parts)
    if draw(st.integers(0, 7)) == 0:
        key = (key + "x" * 1100).encode()[:1024].decode("utf-8", errors="ignore")  # the longest key S3 takes
    return key


# --------------------------------------------------------------------------- functional level (moto)


@pytest.fixture(scope="module")
def functional_resources(platform: Platform) -> dict[str, str]:
    """Buckets, tables (as template.yaml declares them), a bus and a stand-in state machine.

    They live in the package's moto server (in this process) beside the local cloud's own, under
    names of their own: ``mock_aws`` would reset every moto backend, the local cloud's included.
    """
    cloud = platform.cloud
    names = {
        "DATA_BUCKET": "hostile-functional-data",
        "ARTIFACT_BUCKET": "hostile-functional-artifacts",
        "EVENT_BUS_NAME": "hostile-functional-bus",
    }
    s3 = cloud.client("s3")
    for bucket in (names["DATA_BUCKET"], names["ARTIFACT_BUCKET"]):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    cloud.client("events").create_event_bus(Name=names["EVENT_BUS_NAME"])
    ddb = cloud.client("dynamodb")
    for logical_id, resource in load_template()["Resources"].items():
        if resource["Type"] == "AWS::DynamoDB::Table":
            props = resource["Properties"]
            name = f"hostile-functional-{logical_id}"
            ddb.create_table(
                TableName=name,
                AttributeDefinitions=props["AttributeDefinitions"],
                KeySchema=props["KeySchema"],
                BillingMode="PAY_PER_REQUEST",
            )
            names[
                {"RegistryTable": "REGISTRY_TABLE", "IdempotencyTable": "IDEMPOTENCY_TABLE"}[logical_id]
            ] = name
    names["TRAINING_STATE_MACHINE_ARN"] = cloud.client("stepfunctions").create_state_machine(
        name="hostile-functional-training",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    s3.put_object(Bucket=names["DATA_BUCKET"], Key=f"specs/{MODEL}.yaml", Body=yaml.safe_dump(SPEC).encode())
    return names


@pytest.fixture
def moto_platform(
    functional_resources: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """The ingest and validate handlers, loaded in this process, configured for those resources."""
    for key, value in functional_resources.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MAX_DECOMPRESSED_BYTES", str(MAX_DECOMPRESSED))
    monkeypatch.setenv("MAX_ROWS", "10000")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "LockgateReliability")
    lockgate_settings.cache_clear()
    aws.reset_clients()
    names: dict[str, Any] = dict(functional_resources)
    names["STATE_MACHINE_ARN"] = functional_resources["TRAINING_STATE_MACHINE_ARN"]
    names["ingest"] = load_function("ingest")
    names["validate"] = load_function("validate")
    yield names
    monkeypatch.undo()
    lockgate_settings.cache_clear()
    aws.reset_clients()


def _event(bucket: str, key: str, put: dict[str, Any], size: int) -> dict[str, Any]:
    event = copy.deepcopy(json.loads((ROOT / "events" / "ingest" / "put.json").read_text()))
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["object"].update(
        key=quote_plus(key, safe="/"), size=size, eTag=put["ETag"].strip('"'), versionId=put["VersionId"]
    )
    return event


def _ingest_and_validate(names: dict[str, Any], key: str, data: bytes) -> str:
    """Upload ``data`` as ``key``, run ingest and (if it started a run) validate; returns the outcome."""
    s3 = boto3.client("s3")
    try:
        put = s3.put_object(Bucket=names["DATA_BUCKET"], Key=key, Body=data)
    except ClientError as exc:
        # The local S3 server's HTTP layer collapses "../" segments that climb above the bucket
        # (real S3 stores such keys): an upload that never happened has nothing to ingest.
        assume(exc.response["Error"]["Code"] not in ("404", "NoSuchBucket"))
        raise
    body = names["ingest"].handler(_event(names["DATA_BUCKET"], key, put, len(data)), FakeContext("ingest"))
    [result] = body["results"]
    outcome = result["outcome"]
    assert outcome in ("started", "duplicate", "rejected", "ignored"), result
    store = DynamoDBDatasetStore(names["REGISTRY_TABLE"])
    if outcome == "rejected":
        assert result["reasons"] and all(r.strip() for r in result["reasons"]), result
        if result["model"]:
            refused = [
                r for r in store.list(result["model"]) if r.source_key == key and r.status == "rejected"
            ]
            assert refused and refused[0].reasons, f"rejection of {key!r} not recorded"
        return "rejected at ingest"
    if outcome != "started":
        return outcome
    assert result["key"] == key, "the key was not decoded back to what was uploaded"
    execution = boto3.client("stepfunctions").describe_execution(executionArn=result["execution_arn"])
    run = json.loads(execution["input"])
    try:
        names["validate"].handler(run, FakeContext("validate"))
    except DatasetRejectedError as exc:
        record = store.get(MODEL, run["dataset"]["id"])
        assert record.status == "rejected" and record.reasons, record
        assert all(isinstance(r, str) and r.strip() for r in exc.details["reasons"])
        return "rejected at validation"
    record = store.get(MODEL, run["dataset"]["id"])
    assert record.status == "accepted" and record.rows and record.rows > 0, record
    return "accepted"


def test_hostile_csv_files_end_accepted_or_in_a_recorded_rejection(
    moto_platform: dict[str, Any], figures: Figures
) -> None:
    outcomes: Counter[str] = Counter()

    @HOSTILE
    @given(data=csv_files(), n=st.integers(0, 10**9))
    def check(data: bytes, n: int) -> None:
        outcomes[_ingest_and_validate(moto_platform, f"datasets/{MODEL}/file-{n}.csv", data)] += 1

    check()
    # the generator reaches every branch, so the property is not vacuous
    assert outcomes["accepted"] and outcomes["rejected at validation"], outcomes
    figures.record("hostile_files_functional", dict(outcomes))


def test_hostile_object_keys_end_accepted_or_in_a_recorded_rejection(
    moto_platform: dict[str, Any], figures: Figures
) -> None:
    outcomes: Counter[str] = Counter()

    @HOSTILE
    @given(key=object_keys(), seed=st.integers(0, 10**9))
    def check(key: str, seed: int) -> None:
        # well-formed data, different every time: what happens depends on the key alone
        data = make_synthetic(60, seed=seed).rename(columns={"target": "y"}).to_csv(index=False).encode()
        outcomes[_ingest_and_validate(moto_platform, key, data)] += 1

    check()
    assert outcomes["accepted"] and outcomes["rejected at ingest"], outcomes
    figures.record("hostile_keys_functional", dict(outcomes))


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (f"datasets/{MODEL}/../specs/{MODEL}.yaml", "rejected at ingest"),
        (f"datasets/{MODEL}/a%2Fb.csv", "accepted"),
        (f"datasets/{MODEL}/a+b c.csv", "accepted"),
        (f"datasets/{MODEL}/" + "é" * 400 + ".csv", "accepted"),  # 800+ bytes of UTF-8
        (f"datasets/{MODEL}/" + "k" * (1024 - len(f"datasets/{MODEL}/")), "accepted"),  # exactly 1,024 bytes
        ("datasets/UPPER/x.csv", "rejected at ingest"),
        (f"datasets/{MODEL}/", "rejected at ingest"),
    ],
)
def test_named_hostile_keys(moto_platform: dict[str, Any], key: str, expected: str) -> None:
    seed = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)  # different bytes for every key
    body = make_synthetic(60, seed=seed).rename(columns={"target": "y"}).to_csv(index=False).encode()
    assert _ingest_and_validate(moto_platform, key, body) == expected


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"x1,y\n1,yes\n2,no\n3,yes\n4,no\n5,inf\n6,yes\n", None),  # inf in the target is a class label
        (b"x1,y\n1,yes\ninf,no\n3,yes\n4,no\n5,no\n6,yes\n", "infinite"),
        (gzip.compress(b"x1,y\n" + b"1,yes\n" * 400_000, mtime=0), "decompresses to more than"),
        ("x1,y\n1,yes\n".encode("utf-16"), "UTF-16"),
        (b"x1,y\n1,yes,extra\n2,no\n", "ragged rows"),
        (b"x1;y\n1;yes\n2;no\n", "delimited"),
        (b'x1,y\n"' + b"z" * 3_000_000 + b'",yes\n', None),  # one 3 MB field
    ],
)
def test_named_hostile_files(moto_platform: dict[str, Any], data: bytes, reason: str | None) -> None:
    key = f"datasets/{MODEL}/named-{hashlib.sha256(data).hexdigest()[:12]}.csv"
    outcome = _ingest_and_validate(moto_platform, key, data)
    if reason is None:
        assert outcome in ("accepted", "rejected at validation")
        return
    assert outcome == "rejected at validation"
    [record] = [
        r for r in DynamoDBDatasetStore(moto_platform["REGISTRY_TABLE"]).list(MODEL) if r.source_key == key
    ]
    assert any(reason in r for r in record.reasons), record.reasons


# --------------------------------------------------------------------------- through the local cloud


def _awkward_but_valid(header: str) -> bytes:
    """Valid data a person might really send: unicode and quoted commas in values, NaN strings."""
    lines = [header]
    cities = ['"Zürich, CH"', '"São Paulo, BR"', '"東京, JP"', '"Cork, ""Rebel"" County, IE"']
    for i in range(120):
        score = "NaN" if i % 17 == 0 else ("" if i % 23 == 0 else f"{(i * 37) % 100 / 7:.3f}")
        label = "yes" if (i * 37) % 100 > 45 else "no"
        lines.append(f"{score},{cities[i % 4]},{'n/a' if i % 5 == 0 else 'ok 🙂'},{label}")
    return ("\n".join(lines) + "\n").encode()


def test_hostile_uploads_through_the_local_cloud_never_crash_or_hang_the_pipeline(
    platform: Platform, figures: Figures
) -> None:
    platform.put_spec({**SPEC, "model": "hostile-cloud", "algorithm": "logistic_regression"})
    uploaded: list[str] = []

    @settings(
        max_examples=PROFILE.cloud_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )
    @given(data=csv_files(), name=_name_part)
    def upload(data: bytes, name: str) -> None:
        uploaded.append(platform.upload("hostile-cloud", f"{len(uploaded)}-{name}", data))

    upload()
    executions = wait_until_settled(platform, "hostile-cloud", timeout=300)
    statuses = Counter(
        platform.sfn.describe_execution(executionArn=e["executionArn"]).get("error") or e["status"]
        for e in executions
    )
    # every run ended in acceptance (a model) or a named rejection; none crashed in a step
    crashes = [
        e["detail"] for e in platform.events("Training Failed") if e["detail"].get("model") == "hostile-cloud"
    ]
    assert set(statuses) <= {"SUCCEEDED", "DatasetRejected", "ModelRejected"}, json.dumps(crashes)[:3000]
    uploads = items(platform, "hostile-cloud", "UPLOAD#")
    assert len(uploads) == len(uploaded), "an upload was lost"
    refused = [u for u in uploads if u["status"] == "rejected"]
    assert all(u.get("reasons") for u in refused)
    assert len(executions_of(platform, "hostile-cloud")) == len([u for u in uploads if u["status"] == "new"])
    figures.record("hostile_files_cloud", {"uploads": len(uploaded), **dict(statuses)})


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("score,city,note,y", id="plain-names"),
        pytest.param(
            'annual score,"city, country",note,y',
            id="spaces-and-commas-in-names",
        ),
    ],
)
def test_awkward_but_valid_files_train_through_the_local_cloud(platform: Platform, header: str) -> None:
    model = f"awkward-{len(header)}"
    platform.put_spec({**SPEC, "model": model, "algorithm": "logistic_regression"})
    known = platform.known_executions()
    platform.upload(model, "awkward.csv", _awkward_but_valid(header))
    result = platform.wait_for_pipeline(model, known=known)
    assert result["status"] == "SUCCEEDED", (result.get("error"), result.get("cause"))
