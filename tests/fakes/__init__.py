"""Typed in-memory fakes of the core's ports, for service tests without moto.

The rule: one fake per port. Each fake implements a Protocol from ``lockgate.ports`` (structurally;
mypy checks it strictly, as it checks the core), keeps real state and enforces the same rules the
adapter it stands in for does (a version conflict is a conflict here too), so a service test that
passes with the fake means the use case is right, not that the fake is lenient. The service tests in
tests/unit/services/ use these; functional tests (tests/functional/) use the real adapters on moto.

One module per area, written by the area's owner: lifecycle (runs, registry, artifacts, publisher,
task tokens), datain (datasets, uploads, the training launcher), monitoring (checks, logs, alerts,
labels), serving (tokens, capture, batch files). Import from the area module or from here.
"""

from __future__ import annotations

from lockgate import ports

from fakes.datain import FakeUploadSource, InMemoryDatasetStore, RecordingLauncher
from fakes.lifecycle import (
    InMemoryArtifacts,
    InMemoryDatasetLookup,
    InMemoryModelRegistry,
    InMemoryRunStore,
    RecordingPublisher,
    RecordingTaskTokens,
)
from fakes.monitoring import (
    InMemoryCheckStore,
    InMemoryDatasetDrop,
    InMemoryLabelFileStore,
    InMemoryLogs,
    InMemoryUploads,
    RecordingAlerts,
)
from fakes.serving import InMemoryBatchFiles, InMemoryCaptureLog, InMemoryTokenStore

__all__ = [
    "FakeUploadSource",
    "InMemoryArtifacts",
    "InMemoryBatchFiles",
    "InMemoryCaptureLog",
    "InMemoryCheckStore",
    "InMemoryDatasetDrop",
    "InMemoryDatasetLookup",
    "InMemoryDatasetStore",
    "InMemoryLabelFileStore",
    "InMemoryLogs",
    "InMemoryModelRegistry",
    "InMemoryRunStore",
    "InMemoryTokenStore",
    "InMemoryUploads",
    "RecordingAlerts",
    "RecordingLauncher",
    "RecordingPublisher",
    "RecordingTaskTokens",
    "every_port_has_a_fake",
]


def every_port_has_a_fake() -> dict[str, object]:
    """One fake per port, each assigned to its Protocol so mypy proves it implements it.

    ``tests/unit/test_fakes.py`` also checks that every Protocol in ``lockgate.ports`` is here.
    """
    logs = InMemoryLogs()
    registry = InMemoryModelRegistry()
    datasets = InMemoryDatasetStore()
    fakes: dict[str, object] = {}
    publisher: ports.Publisher = RecordingPublisher()
    artifact_reader: ports.ArtifactReader = InMemoryArtifacts()
    artifact_store: ports.ArtifactStore = InMemoryArtifacts()
    served_version_reader: ports.VersionReader = registry
    model_registry: ports.ModelRegistry = registry
    run_store: ports.RunStore = InMemoryRunStore()
    task_tokens: ports.TaskTokens = RecordingTaskTokens()
    dataset_lookup: ports.DatasetLookup = InMemoryDatasetLookup()
    dataset_store: ports.DatasetStore = datasets
    upload_source: ports.UploadSource = FakeUploadSource()
    training_launcher: ports.TrainingLauncher = RecordingLauncher()
    champion_source: ports.ChampionSource = registry
    check_store: ports.CheckStore = InMemoryCheckStore()
    alerts: ports.Alerts = RecordingAlerts()
    log_reader: ports.LogReader = logs
    label_log: ports.LabelLog = logs
    upload_reader: ports.UploadReader = InMemoryUploads()
    dataset_drop: ports.DatasetDrop = InMemoryDatasetDrop()
    label_file_store: ports.LabelFileStore = InMemoryLabelFileStore()
    capture_log: ports.CaptureLog = InMemoryCaptureLog()
    token_store: ports.TokenStore = InMemoryTokenStore()
    batch_files: ports.BatchFiles = InMemoryBatchFiles()
    fakes.update(
        Publisher=publisher,
        ArtifactReader=artifact_reader,
        ArtifactStore=artifact_store,
        VersionReader=served_version_reader,
        ModelRegistry=model_registry,
        RunStore=run_store,
        TaskTokens=task_tokens,
        DatasetLookup=dataset_lookup,
        DatasetStore=dataset_store,
        UploadSource=upload_source,
        TrainingLauncher=training_launcher,
        ChampionSource=champion_source,
        CheckStore=check_store,
        Alerts=alerts,
        LogReader=log_reader,
        LabelLog=label_log,
        UploadReader=upload_reader,
        DatasetDrop=dataset_drop,
        LabelFileStore=label_file_store,
        CaptureLog=capture_log,
        TokenStore=token_store,
        BatchFiles=batch_files,
    )
    return fakes
