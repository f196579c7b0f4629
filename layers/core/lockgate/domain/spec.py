"""The model spec: what a team declares about a model, in YAML at ``s3://<data>/specs/<model>.yaml``.

Parsing is strict (unknown fields are refused, so a typo never silently falls back to a default)
and every error names the field and the problem. ``docs/spec.md`` documents each field and
``schemas/spec.schema.json`` is generated from :class:`ModelSpec` (``make schema``).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lockgate.errors import SpecInvalidError

Task = Literal["classification", "regression"]
Algorithm = Literal["logistic_regression", "linear_regression", "random_forest", "gradient_boosting"]
Metric = Literal["accuracy", "roc_auc", "f1", "log_loss", "rmse", "mae", "r2"]
FeatureType = Literal["number", "string"]

CLASSIFICATION_METRICS = ("accuracy", "roc_auc", "f1", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2")
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataGates(_Strict):
    """Thresholds the validation step enforces on every upload."""

    min_rows: int = Field(default=50, ge=1, description="Fewer rows than this rejects the upload.")
    max_null_fraction: float = Field(default=0.3, ge=0, le=1, description="Per column.")
    max_duplicate_fraction: float = Field(
        default=0.5, ge=0, le=1, description="Share of fully duplicated rows."
    )
    min_class_share: float = Field(
        default=0.01, ge=0, le=0.5, description="Classification: the rarest class must reach this share."
    )
    leakage_threshold: float = Field(
        default=0.99,
        gt=0.5,
        le=1,
        description="A single feature predicting the target this well (accuracy / R²) is target leakage.",
    )
    max_category_count: int = Field(
        default=200, ge=2, description="More distinct values than this in a string column is refused."
    )
    max_new_category_share: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="Share of rows whose category was never seen in the last accepted dataset.",
    )
    max_range_shift: float = Field(
        default=0.5,
        ge=0,
        description="How far (as a fraction of the last accepted dataset's range) the new range may extend.",
    )


class ModelGates(_Strict):
    """Thresholds a candidate model must pass before it is registered."""

    min_metric: float | None = Field(
        default=None, description="Absolute floor (or ceiling for loss metrics) on the primary metric."
    )
    min_improvement_abs: float = Field(
        default=0.0, ge=0, description="Champion/challenger: required absolute improvement."
    )
    min_improvement_rel: float = Field(
        default=0.0, ge=0, description="Champion/challenger: required relative improvement."
    )
    parity_tolerance: float = Field(
        default=1e-4, gt=0, description="Max |p_onnx - p_sklearn| on the holdout."
    )


class Gates(_Strict):
    data: DataGates = DataGates()
    model: ModelGates = ModelGates()


class Search(_Strict):
    """A small hyperparameter grid search (cross-validated on the training split)."""

    grid: dict[str, list[Any]] = Field(description="Estimator parameter -> candidate values.")
    cv: int = Field(default=3, ge=2, le=10)
    max_candidates: int = Field(default=20, ge=1, le=200)


class Monitoring(_Strict):
    """How drift and performance are watched once a model is serving."""

    cadence_minutes: int = Field(
        default=60, ge=1, description="How often the drift check runs for this model."
    )
    short_window_minutes: int = Field(default=60, ge=1, description="Recent window: catches sudden spikes.")
    long_window_minutes: int = Field(
        default=7 * 24 * 60, ge=1, description="Long window: catches slow drift."
    )
    min_samples: int = Field(
        default=30, ge=1, description="Fewer captured rows than this: the window is skipped, not judged."
    )
    drift_share: float = Field(
        default=0.5, gt=0, le=1, description="Dataset drift when this share of features drift."
    )
    stattest: str | None = Field(
        default=None,
        description="Force one test for every feature (ks, chisquare, z, wasserstein, jensenshannon, psi).",
    )
    stattest_threshold: float | None = Field(
        default=None, gt=0, description="Override the chosen test's threshold."
    )
    performance_drop: float = Field(
        default=0.05,
        ge=0,
        description="Flag when the primary metric on labelled traffic falls this far below holdout.",
    )
    on_drift: Literal["alert", "retrain"] = Field(default="alert")
    retrain_cooldown_minutes: int = Field(
        default=24 * 60, ge=0, description="No second retraining within this time."
    )


class ModelSpec(_Strict):
    model: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="Lowercase letters, digits and dashes."
    )
    task: Task
    target: str = Field(min_length=1)
    description: str = Field(
        default="", description="The intent: what the model is for. Shown on the model card."
    )
    ignore: list[str] = Field(
        default_factory=list, description="Columns to drop before training (ids, timestamps)."
    )
    features: dict[str, FeatureType] | None = Field(
        default=None, description="Declared feature types; inferred when omitted."
    )
    positive_class: str | int | None = Field(
        default=None, description="Binary classification: the class ROC AUC and F1 score."
    )
    algorithm: Algorithm | None = Field(default=None, description="Defaults to gradient_boosting.")
    params: dict[str, Any] = Field(default_factory=dict, description="Estimator hyperparameters.")
    search: Search | None = None
    metric: Metric | None = Field(
        default=None, description="Primary metric; roc_auc (classification) or rmse (regression) by default."
    )
    seed: int = Field(default=42, ge=0)
    test_size: float = Field(default=0.2, gt=0.05, lt=0.5)
    gates: Gates = Gates()
    approval: Literal["auto", "manual"] = "auto"
    monitoring: Monitoring = Monitoring()

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        allowed = CLASSIFICATION_METRICS if self.task == "classification" else REGRESSION_METRICS
        if self.metric is not None and self.metric not in allowed:
            raise ValueError(
                f"metric {self.metric!r} does not apply to {self.task}; use one of {', '.join(allowed)}"
            )
        if self.task == "regression" and self.algorithm == "logistic_regression":
            raise ValueError("algorithm logistic_regression is for classification; use linear_regression")
        if self.task == "classification" and self.algorithm == "linear_regression":
            raise ValueError("algorithm linear_regression is for regression; use logistic_regression")
        if self.target in self.ignore:
            raise ValueError(f"target {self.target!r} is also listed in ignore")
        if self.features and self.target in self.features:
            raise ValueError(f"target {self.target!r} must not be listed in features")
        return self

    @property
    def primary_metric(self) -> str:
        return self.metric or ("roc_auc" if self.task == "classification" else "rmse")

    @property
    def estimator(self) -> str:
        return self.algorithm or "gradient_boosting"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _describe(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "spec"
        problems.append(f"{where}: {err['msg']}")
    return problems


def parse_spec(data: Any) -> ModelSpec:
    """Validate a spec mapping; raises :class:`SpecInvalidError` naming each bad field."""
    if not isinstance(data, dict):
        raise SpecInvalidError("a spec must be a YAML mapping with at least model, task and target")
    try:
        return ModelSpec.model_validate(data)
    except ValidationError as exc:
        problems = _describe(exc)
        raise SpecInvalidError("invalid spec: " + "; ".join(problems), problems=problems) from exc


def load_spec(text: str | bytes) -> ModelSpec:
    """Parse spec YAML (or JSON) text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecInvalidError(f"the spec is not valid YAML: {exc}") from exc
    return parse_spec(data)


def json_schema() -> str:
    return json.dumps(ModelSpec.model_json_schema(), indent=2, sort_keys=True) + "\n"
