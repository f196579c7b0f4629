"""The register task's use case: register the candidate a training execution produced, with its card.

The version is Approved when the spec says ``approval: auto`` (the gates already passed), else
PendingManualApproval. Idempotent on ``run_id``: the registry returns the version a retried task
already created, and a version that already has its card is returned as it is.
"""

from __future__ import annotations

from lockgate.domain.model_version import ModelVersion
from lockgate.domain.spec import ModelSpec, parse_spec
from lockgate.domain.training_state import Candidate, Registration
from lockgate.ports import ArtifactStore, ModelRegistry, RunStore
from lockgate.reports.model_card import CARD_CONTENT_TYPE, CARD_EXT, CARD_KIND, CardContext, render_model_card


def write_model_card(store: ArtifactStore, version: ModelVersion, context: CardContext | None = None) -> str:
    """Render and store the card as ``cards/<sha>.md``; returns its content id."""
    data = render_model_card(version, context).encode()
    return store.put_bytes(CARD_KIND, data, ext=CARD_EXT, content_type=CARD_CONTENT_TYPE).sha256


def register_candidate(
    candidate: Candidate,
    *,
    registry: ModelRegistry,
    artifacts: ArtifactStore,
    runs: RunStore,
    code_version: str,
    spec: ModelSpec | None = None,
) -> Registration:
    """Register ``candidate`` under its spec (read from the artifact store unless given), write
    its model card, and note the version on the run record (a run without one is left alone).

    ``code_version`` stands in for a run that did not record its own.
    """
    spec = spec or parse_spec(artifacts.get_json("specs", candidate.spec_id))
    version = registry.create_model_version(candidate.new_version(spec, code_version=code_version))
    if not version.model_card_id:
        context = CardContext(
            spec=spec,
            dataset_rows=candidate.dataset_rows,
            dataset_source=candidate.dataset_source,
            gates=candidate.gates,
            champion_metrics=candidate.champion_metrics,
        )
        card_id = write_model_card(artifacts, version, context)
        version = registry.set_model_card(version.model, version.version, card_id)
    runs.note(version.model, candidate.run_id, version=version.version)
    return Registration(version=version.version, status=version.status, model_card_id=version.model_card_id)
