"""The ingest use case on in-memory ports: content ids, first delivery wins, one run per content,
and every refusal recorded and announced."""

from __future__ import annotations

import gzip
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from fakes.datain import FakeUploadSource, InMemoryDatasetStore, RecordingLauncher
from fakes.lifecycle import InMemoryArtifacts, RecordingPublisher
from lockgate.domain.artifacts import sha256_hex
from lockgate.domain.dataset import execution_name
from lockgate.services.ingest import IngestDeps, ingest_upload

SPEC = b"model: churn\ntask: classification\ntarget: churned\n"
LIMIT = 1_000_000


def table(rows: int, seed: int) -> bytes:
    rng = random.Random(seed)
    lines = ["age,plan,churned"] + [
        f"{rng.randint(18, 80)},{rng.choice(['basic', 'pro'])},{rng.choice(['yes', 'no'])}"
        for _ in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


@dataclass
class World:
    store: InMemoryDatasetStore
    uploads: FakeUploadSource
    artifacts: InMemoryArtifacts
    launcher: RecordingLauncher
    publisher: RecordingPublisher

    @property
    def deps(self) -> IngestDeps:
        return IngestDeps(
            store=self.store,
            uploads=self.uploads,
            artifacts=self.artifacts,
            launcher=self.launcher,
            publisher=self.publisher,
        )


@pytest.fixture
def world() -> World:
    artifacts = InMemoryArtifacts()
    uploads = FakeUploadSource(sinks={artifacts.bucket: artifacts})
    uploads.put("specs/churn.yaml", SPEC)
    return World(InMemoryDatasetStore(), uploads, artifacts, RecordingLauncher(), RecordingPublisher())


def test_an_upload_is_copied_by_content_recorded_and_starts_one_run(world: World) -> None:
    # GIVEN a CSV dropped under datasets/churn/
    data = table(50, seed=1)
    ref = world.uploads.put("datasets/churn/jan.csv", data)
    # WHEN ingest handles its notification
    result = ingest_upload(ref, world.deps, max_upload_bytes=LIMIT)
    # THEN the bytes are stored under their sha256 and one training run starts with pointers only
    sha = sha256_hex(data)
    assert (result.outcome, result.model, result.dataset_id) == ("started", "churn", sha)
    assert world.artifacts.get_bytes("datasets", sha) == data
    ((name, request),) = world.launcher.executions.items()
    assert name == execution_name("churn", sha)
    assert request.to_dict()["dataset"] == {
        "id": sha,
        "bucket": world.artifacts.bucket,
        "key": f"datasets/{sha}",
        "format": "csv",
    }
    assert request.trigger == "upload" and request.run_id.startswith("r-")
    assert world.artifacts.get_json("specs", request.spec_id)["target"] == "churned"
    # AND the dataset record says where it came from and which execution trains it
    record = world.store.get("churn", sha)
    assert (record.status, record.source_key, record.size) == (
        "received",
        "datasets/churn/jan.csv",
        len(data),
    )
    assert record.execution_arn == result.execution_arn
    upload = world.store.get_upload("churn", ref.upload_id)
    assert upload is not None and upload.status == "new"
    assert world.publisher.events == []


def test_redeliveries_and_concurrent_deliveries_start_one_run(world: World) -> None:
    ref = world.uploads.put("datasets/churn/jan.csv", table(50, seed=2))
    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(lambda _: ingest_upload(ref, world.deps, max_upload_bytes=LIMIT), range(5)))
    again = ingest_upload(ref, world.deps, max_upload_bytes=LIMIT)
    assert {r.outcome for r in [*results, again]} == {"started"}
    assert len({r.execution_arn for r in [*results, again]}) == 1
    assert len(world.launcher.executions) == 1
    assert [r.status for r in world.store.list("churn")] == ["received"]


def test_the_same_bytes_under_a_new_name_are_a_duplicate_and_start_nothing(world: World) -> None:
    data = table(50, seed=3)
    ingest_upload(world.uploads.put("datasets/churn/jan.csv", data), world.deps, max_upload_bytes=LIMIT)
    copy = world.uploads.put("datasets/churn/jan-copy.csv", data)
    result = ingest_upload(copy, world.deps, max_upload_bytes=LIMIT)
    assert result.outcome == "duplicate" and "same bytes as datasets/churn/jan.csv" in result.reasons[0]
    assert len(world.launcher.executions) == 1
    listed = {r.source_key: r.status for r in world.store.list("churn")}
    assert listed == {"datasets/churn/jan.csv": "received", "datasets/churn/jan-copy.csv": "duplicate"}
    upload = world.store.get_upload("churn", copy.upload_id)
    assert upload is not None and upload.status == "duplicate"


@pytest.mark.parametrize(
    ("key", "spec", "body", "recorded", "reason"),
    [
        ("datasets/churn/../specs/x.csv", SPEC, b"a,b\n1,2\n", True, "'..'"),
        ("datasets/jan.csv", SPEC, b"a,b\n1,2\n", False, "names no model"),
        ("datasets/Churn/jan.csv", SPEC, b"a,b\n1,2\n", False, "is not a model name"),
        (
            "datasets/churn/jan.csv",
            None,
            b"a,b\n1,2\n",
            True,
            "no spec for model churn; upload specs/churn.yaml first",
        ),
        (
            "datasets/churn/jan.csv",
            b"model: churn\ntask: clustering\ntarget: y\n",
            b"a\n1\n",
            True,
            "is invalid",
        ),
        ("datasets/churn/empty.csv", SPEC, b"", True, "the file is empty"),
        ("datasets/churn/big.csv", SPEC, b"x" * (LIMIT + 1), True, "over the 1,000,000-byte upload limit"),
    ],
)
def test_refused_uploads_are_recorded_and_announced_and_start_nothing(
    world: World, key: str, spec: bytes | None, body: bytes, recorded: bool, reason: str
) -> None:
    if spec is None:
        world.uploads.delete("specs/churn.yaml")
    else:
        world.uploads.put("specs/churn.yaml", spec)
    ref = world.uploads.put(key, body)
    result = ingest_upload(ref, world.deps, max_upload_bytes=LIMIT)
    assert result.outcome == "rejected" and reason in result.reasons[0]
    assert world.launcher.executions == {} and world.uploads.copies == []
    ((kind, detail),) = world.publisher.events
    assert kind == "Dataset Rejected" and detail["stage"] == "ingest" and reason in detail["reasons"][0]
    assert detail["source_key"] == key
    listed = world.store.list("churn")
    if recorded:
        (record,) = listed
        assert record.status == "rejected" and reason in record.reasons[0] and record.source_key == key
    else:
        assert listed == [] and detail["model"] is None


def test_an_object_deleted_before_ingest_is_ignored_quietly(world: World) -> None:
    ref = world.uploads.put("datasets/churn/gone.csv", table(5, seed=4))
    world.uploads.delete("datasets/churn/gone.csv")
    result = ingest_upload(ref, world.deps, max_upload_bytes=LIMIT)
    assert result.outcome == "ignored" and result.reasons == ("object no longer exists",)
    assert world.store.list("churn") == [] and world.publisher.events == []


def test_the_version_named_by_the_notification_is_what_gets_trained(world: World) -> None:
    # GIVEN an upload overwritten before ingest ran
    first = table(30, seed=5)
    ref = world.uploads.put("datasets/churn/jan.csv", first)
    world.uploads.put("datasets/churn/jan.csv", table(30, seed=6))
    # THEN the notified version's bytes are the dataset
    result = ingest_upload(ref, world.deps, max_upload_bytes=LIMIT)
    assert result.dataset_id == sha256_hex(first)
    assert world.artifacts.get_bytes("datasets", sha256_hex(first)) == first


def test_a_drift_retraining_dataset_keeps_its_trigger_and_parents(world: World) -> None:
    parent = "a" * 64
    metadata = {"Lockgate-Trigger": "drift", "lockgate-parents": f"{parent},not-a-sha"}
    ref = world.uploads.put("datasets/churn/retrain.csv", table(30, seed=7), metadata=metadata)
    result = ingest_upload(ref, world.deps, max_upload_bytes=LIMIT)
    (request,) = world.launcher.executions.values()
    assert request.trigger == "drift"
    assert world.store.get("churn", str(result.dataset_id)).parents == (parent,)


def test_gzip_is_recognised_by_its_bytes_not_its_name(world: World) -> None:
    ref = world.uploads.put("datasets/churn/jan.csv", gzip.compress(table(30, seed=8), mtime=0))
    ingest_upload(ref, world.deps, max_upload_bytes=LIMIT)
    (request,) = world.launcher.executions.values()
    assert request.dataset.format == "csv.gz"
