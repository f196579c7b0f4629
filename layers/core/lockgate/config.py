"""Function configuration read once from the environment, validated, failing with a clear message."""

from __future__ import annotations

import functools
import os

from pydantic import BaseModel, Field, ValidationError

from lockgate.errors import ConfigurationError


class Settings(BaseModel):
    """The environment every Lockgate function may read. Names match ``template.yaml``'s Globals."""

    data_bucket: str = Field(default="", alias="DATA_BUCKET")
    artifact_bucket: str = Field(default="", alias="ARTIFACT_BUCKET")
    registry_table: str = Field(default="", alias="REGISTRY_TABLE")
    idempotency_table: str = Field(default="", alias="IDEMPOTENCY_TABLE")
    event_bus_name: str = Field(default="default", alias="EVENT_BUS_NAME")
    training_state_machine_arn: str = Field(default="", alias="TRAINING_STATE_MACHINE_ARN")
    batch_state_machine_arn: str = Field(default="", alias="BATCH_STATE_MACHINE_ARN")
    alerts_topic_arn: str = Field(default="", alias="ALERTS_TOPIC_ARN")
    token_secret_parameter: str = Field(default="", alias="TOKEN_SECRET_PARAMETER")
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, alias="MAX_UPLOAD_BYTES")
    max_decompressed_bytes: int = Field(default=2 * 1024 * 1024 * 1024, alias="MAX_DECOMPRESSED_BYTES")
    max_rows: int = Field(default=5_000_000, alias="MAX_ROWS")
    capture_sampling_rate: float = Field(default=1.0, ge=0.0, le=1.0, alias="CAPTURE_SAMPLING_RATE")
    max_batch_instances: int = Field(default=1000, alias="MAX_BATCH_INSTANCES")
    code_version: str = Field(default="dev", alias="CODE_VERSION")

    model_config = {"populate_by_name": True}

    def require(self, *names: str) -> None:
        """Fail fast, naming the variable, when a function needs a setting that is empty."""
        missing = [n for n in names if not getattr(self, n)]
        if missing:
            env = [type(self).model_fields[n].alias for n in missing]
            raise ConfigurationError(f"missing environment variable(s) {', '.join(str(e) for e in env)}")


@functools.cache
def settings() -> Settings:
    try:
        return Settings.model_validate(dict(os.environ))
    except ValidationError as exc:  # pragma: no cover - configuration mistakes are deploy-time
        raise ConfigurationError(f"invalid Lockgate configuration: {exc}") from exc
