"""Validate: the training state machine's first task. Reads the stored dataset, runs the data gates
(``lockgate.ml.checks``), and records and announces the verdict.

A rejection (unreadable file or a failed gate) is recorded on the dataset with its report, announced
as ``Dataset Rejected`` and raised as :class:`~lockgate.errors.DatasetRejectedError`, which the state
machine catches by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from lockgate.domain import events
from lockgate.domain.dataset import ValidateResult
from lockgate.domain.spec import parse_spec
from lockgate.errors import DatasetRejectedError
from lockgate.ml.checks import validate_dataset
from lockgate.ml.tabular import read_table
from lockgate.ports import ArtifactStore, DatasetStore, Publisher

REPORTS = "reports/validation"


def _previous_profile(
    store: DatasetStore, artifacts: ArtifactStore, model: str, dataset_id: str
) -> tuple[dict[str, Any] | None, str | None]:
    """The last accepted dataset's profile (what this upload is compared with) and its id."""
    last = store.last_accepted(model, exclude=dataset_id)
    if last is None or not last.report_id:
        return None, None
    report = artifacts.get_json(REPORTS, last.report_id)
    return report.get("profile"), last.dataset_id


def _unreadable_report(
    model: str, dataset_id: str, spec_id: str, message: str, reasons: list[str]
) -> dict[str, Any]:
    return {
        "model": model,
        "dataset_id": dataset_id,
        "spec_id": spec_id,
        "status": "rejected",
        "rows": 0,
        "columns": 0,
        "reasons": reasons,
        "checks": [
            {
                "name": "file.readable",
                "status": "fail",
                "observed": None,
                "threshold": None,
                "message": message,
            }
        ],
    }


def validate_upload(
    *,
    model: str,
    dataset_id: str,
    fmt: str,
    spec_id: str,
    store: DatasetStore,
    artifacts: ArtifactStore,
    publisher: Publisher,
    max_rows: int,
    max_decompressed_bytes: int,
) -> ValidateResult:
    """Validate a stored dataset, record and announce the verdict; raise DatasetRejectedError on rejection."""
    data = artifacts.get_bytes("datasets", dataset_id)  # hash verified
    spec = parse_spec(artifacts.get_json("specs", spec_id))
    try:
        df = read_table(data, fmt, max_rows=max_rows, max_decompressed_bytes=max_decompressed_bytes)
    except DatasetRejectedError as exc:
        reasons = list(exc.details.get("reasons") or [exc.message])
        report_ref = artifacts.put_json(
            REPORTS, _unreadable_report(model, dataset_id, spec_id, exc.message, reasons)
        )
        _reject(store, publisher, model, dataset_id, reasons=reasons, report_id=report_ref.sha256)
        raise
    del data
    previous, previous_id = _previous_profile(store, artifacts, model, dataset_id)
    report = replace(
        validate_dataset(df, spec, previous=previous),
        dataset_id=dataset_id,
        spec_id=spec_id,
        previous_dataset_id=previous_id,
    )
    report_id = artifacts.put_json(REPORTS, report.to_dict()).sha256
    if not report.passed:
        _reject(
            store,
            publisher,
            model,
            dataset_id,
            reasons=report.reasons,
            report_id=report_id,
            rows=report.rows,
            columns=report.columns,
        )
        raise DatasetRejectedError("; ".join(report.reasons), reasons=report.reasons, report_id=report_id)
    store.mark_accepted(model, dataset_id, rows=report.rows, columns=report.columns, report_id=report_id)
    publisher(
        events.DATASET_ACCEPTED,
        {
            "model": model,
            "dataset_id": dataset_id,
            "report_id": report_id,
            "rows": report.rows,
            "columns": report.columns,
        },
    )
    return ValidateResult(report_id=report_id, rows=report.rows, columns=report.columns, status="accepted")


def _reject(
    store: DatasetStore,
    publisher: Publisher,
    model: str,
    dataset_id: str,
    *,
    reasons: Sequence[str],
    report_id: str,
    rows: int | None = None,
    columns: int | None = None,
) -> None:
    store.mark_rejected(model, dataset_id, reasons=reasons, report_id=report_id, rows=rows, columns=columns)
    publisher(
        events.DATASET_REJECTED,
        {
            "model": model,
            "dataset_id": dataset_id,
            "report_id": report_id,
            "reasons": list(reasons),
            "stage": "validation",
        },
    )
