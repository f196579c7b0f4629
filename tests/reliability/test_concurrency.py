"""Many writers on one model's registry entries, on the local cloud's DynamoDB and over HTTP.

The registry allocates versions and moves aliases with conditional writes and transactions; this
suite has many threads register, promote and roll back at once and then checks what a user would
check: every version number once, every run once, the alias history a gap-free chain, and the
champion an existing Approved version. A stale promotion over HTTP is a 409 with a reason.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from lockgate.adapters.dynamodb.registry import DynamoDBModelRegistry
from lockgate.domain.model_version import APPROVED, CHAMPION, PENDING, NewModelVersion
from lockgate.errors import VersionConflictError
from reliability_support import PROFILE, Figures, registry
from support.platform import Platform


def _register(reg: DynamoDBModelRegistry, model: str, run_id: str, status: str) -> int:
    version = reg.create_model_version(
        NewModelVersion(
            model=model,
            status=status,
            run_id=run_id,
            dataset_id="d" * 64,
            model_artifact="m" * 64,
            baseline_id="b" * 64,
            holdout_id="h" * 64,
            spec_id="s" * 64,
            report_id="r" * 64,
            signature={},
            metrics={"roc_auc": 0.9},
            params={},
            seed=1,
            environment={},
            code_version="reliability",
            intent="concurrency test",
        )
    )
    return version.version


def test_many_writers_lose_and_duplicate_nothing(platform: Platform, figures: Figures) -> None:
    model = "conc-registry"
    seed_registry = registry(platform)
    first = _register(seed_registry, model, "run-seed", APPROVED)
    seed_registry.set_alias(model, CHAMPION, first, actor="seed")
    created: dict[str, int] = {}
    moves: list[dict[str, Any]] = []
    conflicts: Counter[str] = Counter()
    unexpected: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(PROFILE.threads)

    def writer(i: int) -> None:
        reg = registry(platform)  # one client per thread, as separate Lambda workers would have
        barrier.wait()
        try:
            # every fifth writer registers a version that waits for a person (it cannot take an alias)
            status = PENDING if i % 5 == 4 else APPROVED
            version = _register(reg, model, f"run-{i:03d}", status)
            with lock:
                created[f"run-{i:03d}"] = version
            if i % 7 == 3:
                alias = reg.rollback(model, actor=f"writer-{i}")
                action = "rollback"
            elif i % 6 == 1:
                current = reg.get_alias(model, CHAMPION)
                alias = reg.set_alias(
                    model, CHAMPION, version, actor=f"writer-{i}", expected_revision=current.revision
                )
                action = "guarded"
            else:
                alias = reg.set_alias(model, CHAMPION, version, actor=f"writer-{i}")
                action = "set"
            with lock:
                moves.append({"revision": alias.revision, "version": alias.version, "action": action})
        except VersionConflictError as exc:
            with lock:
                conflicts[
                    str(exc.details.get("status") or exc.details.get("expected_revision") or "race")
                ] += 1
        except BaseException as exc:  # noqa: BLE001 - collected and reported below
            with lock:
                unexpected.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(PROFILE.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not unexpected, [repr(e) for e in unexpected]
    # every registration got a version, all distinct, consecutive, one per run
    assert len(created) == PROFILE.threads
    versions = seed_registry.list_model_versions(model)
    numbers = [v.version for v in versions]
    assert numbers == list(range(1, PROFILE.threads + 2))
    assert sorted(created.values()) == list(range(2, PROFILE.threads + 2))
    by_run = Counter(v.run_id for v in versions)
    assert max(by_run.values()) == 1, by_run.most_common(3)
    assert all(created[v.run_id] == v.version for v in versions if v.run_id != "run-seed")
    # the alias history is an unbroken chain of moves, each to an Approved version
    history = seed_registry.alias_history(model, CHAMPION)
    status = {v.version: v.status for v in versions}
    assert [h.revision for h in history] == list(range(1, len(history) + 1))
    for before, after in zip(history, history[1:], strict=False):
        assert after.previous_version == before.version, (before, after)
    assert all(status[h.version] == APPROVED for h in history)
    # every move a writer was told happened is in the history (nothing lost), and nothing else is
    recorded = {(h.revision, h.version) for h in history[1:]}
    assert {(m["revision"], m["version"]) for m in moves} == recorded
    # the champion is the last move, an existing Approved version
    champion = seed_registry.get_alias(model, CHAMPION)
    assert (champion.revision, champion.version) == (history[-1].revision, history[-1].version)
    assert status[champion.version] == APPROVED
    figures.record(
        "concurrency",
        {
            "writers": PROFILE.threads,
            "versions_registered": len(created),
            "alias_moves": len(moves),
            "refused_as_conflict": sum(conflicts.values()),
            "lost_or_duplicated": 0,
        },
    )


def test_a_stale_promotion_over_http_is_a_409_not_a_500(platform: Platform) -> None:
    model = "conc-http"
    reg = registry(platform)
    one, two, three = (_register(reg, model, f"run-{i}", APPROVED) for i in range(3))
    reg.set_alias(model, CHAMPION, one, actor="seed")
    current = reg.get_alias(model, CHAMPION)
    path = f"/models/{model}/aliases/{CHAMPION}"
    # a fresh expected_revision moves the alias
    fresh = platform.api(
        "PUT", path, role="admin", json={"version": two, "expected_revision": current.revision}
    )
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["revision"] == current.revision + 1
    # the same (now stale) revision is refused with a conflict a client can act on
    stale = platform.api(
        "PUT", path, role="admin", json={"version": three, "expected_revision": current.revision}
    )
    assert stale.status_code == 409, stale.text
    assert stale.json()["error"] == "VersionConflict"
    assert "revision" in stale.json()["message"]
    assert reg.get_alias(model, CHAMPION).version == two


def test_racing_promotions_with_one_revision_let_exactly_one_through(platform: Platform) -> None:
    model = "conc-race"
    reg = registry(platform)
    targets = [_register(reg, model, f"run-{i}", APPROVED) for i in range(9)]
    reg.set_alias(model, CHAMPION, targets[0], actor="seed")
    revision = reg.get_alias(model, CHAMPION).revision
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def promote(version: int) -> None:
        barrier.wait()
        response = platform.api(
            "PUT",
            f"/models/{model}/aliases/{CHAMPION}",
            role="admin",
            json={"version": version, "expected_revision": revision},
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=promote, args=(v,)) for v in targets[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [409] * 7, statuses
    history = reg.alias_history(model, CHAMPION)
    assert [h.revision for h in history] == [1, 2]
    assert reg.get_alias(model, CHAMPION).version == history[-1].version != targets[0]
