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

from fakes.datain import STATE_MACHINE_ARN, FakeUploadSource, InMemoryDatasetStore, RecordingLauncher
from fakes.lifecycle import (
    InMemoryArtifacts,
    InMemoryDatasetLookup,
    InMemoryModelRegistry,
    InMemoryRunStore,
    RecordingPublisher,
    RecordingTaskTokens,
)
from fakes.monitoring import (
    DroppedFile,
    InMemoryCheckStore,
    InMemoryDatasetDrop,
    InMemoryLabelFileStore,
    InMemoryLogs,
    InMemoryUploads,
    RecordingAlerts,
    SentAlert,
)
from fakes.serving import InMemoryBatchFiles, InMemoryCaptureLog, InMemoryTokenStore, RecordingBatchLauncher

__all__ = [
    "DroppedFile",
    "FakeUploadSource",
    "InMemoryArtifacts",
    "InMemoryBatchFiles",
    "RecordingBatchLauncher",
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
    "STATE_MACHINE_ARN",
    "SentAlert",
    "every_port_has_a_fake",
]


class _PortFakes:
    """One line per port: the attribute is the port's name, the annotation the port, the value its fake.

    Each line is an annotated assignment, so mypy (strict on tests/fakes) proves the fake implements
    the Protocol; tests/unit/test_fakes.py proves no port of lockgate.ports is left without a line.
    """

    Publisher: type[ports.Publisher] = RecordingPublisher
    ArtifactReader: type[ports.ArtifactReader] = InMemoryArtifacts
    ArtifactStore: type[ports.ArtifactStore] = InMemoryArtifacts
    VersionReader: type[ports.VersionReader] = InMemoryModelRegistry
    ModelRegistry: type[ports.ModelRegistry] = InMemoryModelRegistry
    ChampionSource: type[ports.ChampionSource] = InMemoryModelRegistry
    RunStore: type[ports.RunStore] = InMemoryRunStore
    TaskTokens: type[ports.TaskTokens] = RecordingTaskTokens
    DatasetLookup: type[ports.DatasetLookup] = InMemoryDatasetLookup
    DatasetStore: type[ports.DatasetStore] = InMemoryDatasetStore
    UploadSource: type[ports.UploadSource] = FakeUploadSource
    TrainingLauncher: type[ports.TrainingLauncher] = RecordingLauncher
    CheckStore: type[ports.CheckStore] = InMemoryCheckStore
    Alerts: type[ports.Alerts] = RecordingAlerts
    LogReader: type[ports.LogReader] = InMemoryLogs
    LabelLog: type[ports.LabelLog] = InMemoryLogs
    UploadReader: type[ports.UploadReader] = InMemoryUploads
    DatasetDrop: type[ports.DatasetDrop] = InMemoryDatasetDrop
    LabelFileStore: type[ports.LabelFileStore] = InMemoryLabelFileStore
    CaptureLog: type[ports.CaptureLog] = InMemoryCaptureLog
    TokenStore: type[ports.TokenStore] = InMemoryTokenStore
    BatchFiles: type[ports.BatchFiles] = InMemoryBatchFiles
    BatchLauncher: type[ports.BatchLauncher] = RecordingBatchLauncher


def every_port_has_a_fake() -> dict[str, type[object]]:
    """Port name -> the fake that implements it (see :class:`_PortFakes`)."""
    fakes: dict[str, type[object]] = {}
    for name, annotation in _PortFakes.__annotations__.items():
        if annotation != f"type[ports.{name}]":
            raise TypeError(f"_PortFakes.{name} is annotated {annotation}, not type[ports.{name}]")
        fakes[name] = getattr(_PortFakes, name)
    return fakes
