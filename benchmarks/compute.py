"""Model compute, 1 row and a batch: Lockgate's serving path vs scikit-learn vs MLflow pyfunc."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.common import (
    Section,
    Sizes,
    Table,
    Verdict,
    fmt_ratio,
    fmt_time,
    ratio,
    run_worker,
)
from benchmarks.data import ModelCase, instances, memory_predictor, mlflow_dir
from benchmarks.envs import PeerEnv
from benchmarks.workers._measure import measure, summary, versions

TARGET = 20.0


def lockgate_side(cases: Sequence[ModelCase], sizes: Sizes) -> dict[str, dict[str, Any]]:
    """``Predictor.predict``: resolve (alias cache), session cache, validate_instances, build_feeds, run."""
    from lockgate.serving.signature import build_feeds, validate_instances

    predictor = memory_predictor(cases)
    out: dict[str, dict[str, Any]] = {}
    for case in cases:
        rows = instances(case.traffic)
        bodies = {"1": {"instances": rows[:1]}, "batch": {"instances": rows[: sizes.batch_rows]}}
        entry: dict[str, Any] = {}
        loaded, signature = predictor.load(predictor.resolve(case.slug))
        for label, body in bodies.items():
            times = measure(lambda b=body, m=case.slug: predictor.predict(m, b), budget=sizes.compute_budget)
            entry[label] = summary(times)
            feeds = build_feeds(validate_instances(body, signature), signature, loaded.number_dtypes)
            run_only = measure(
                lambda f=feeds, s=loaded.session: s.run(None, f), budget=sizes.compute_budget / 3
            )
            entry[label + "_run"] = summary(run_only)
            if label == "batch":
                checks = measure(
                    lambda b=body, s=signature: validate_instances(b, s), budget=sizes.compute_budget / 3
                )
                clean = validate_instances(body, signature)
                feeding = measure(
                    lambda c=clean, s=signature, d=loaded.number_dtypes: build_feeds(c, s, d),
                    budget=sizes.compute_budget / 3,
                )
                entry["batch_validate"], entry["batch_feeds"] = summary(checks), summary(feeding)
        first = predictor.predict(case.slug, bodies["1"])
        assert first.probabilities is not None
        entry["first_row_proba"] = list(first.probabilities[0].values())
        out[case.key] = entry
    return out


def sklearn_side(cases: Sequence[ModelCase], sizes: Sizes) -> dict[str, dict[str, Any]]:
    """``pipeline.predict_proba`` on a DataFrame (1 row and the batch)."""
    out: dict[str, dict[str, Any]] = {}
    for case in cases:
        one, batch = case.traffic.iloc[:1], case.traffic.iloc[: sizes.batch_rows]
        entry: dict[str, Any] = {}
        for label, frame in (("1", one), ("batch", batch)):
            times = measure(lambda f=frame, p=case.pipeline: p.predict_proba(f), budget=sizes.compute_budget)
            entry[label] = summary(times)
        entry["first_row_proba"] = [float(p) for p in case.pipeline.predict_proba(one)[0]]
        out[case.key] = entry
    return out


def mlflow_side(cases: Sequence[ModelCase], sizes: Sizes, env: PeerEnv) -> dict[str, Any]:
    assert env.python is not None
    config = {
        "batch_rows": sizes.batch_rows,
        "budget": sizes.compute_budget,
        "cases": [
            {**{k: v for k, v in case.files().items()}, "key": case.key, "model_dir": str(mlflow_dir(case))}
            for case in cases
        ],
    }
    return run_worker(env.python, "mlflow_compute.py", config, timeout=1800)


def run(cases: Sequence[ModelCase], sizes: Sizes, mlflow: PeerEnv | None) -> Section:
    section = Section(
        key="compute",
        title="Model compute, 1 row and 1,000 rows",
        what=(
            "In-process prediction on the same model. **Lockgate**: `lockgate.serving.predictor.Predictor.predict` "
            "on a parsed JSON body (alias resolution, cached onnxruntime session, `validate_instances`, "
            "`build_feeds`, `session.run`, output shaping). **scikit-learn**: the fitted pipeline's "
            "`predict_proba` on a DataFrame. **MLflow**: the same pipeline saved with a signature and "
            "loaded as a pyfunc (`predict_proba`), so its schema enforcement is timed as Lockgate's "
            "validation is. Medians of repeated warm calls; p99 in brackets. *Of which session.run*: "
            "onnxruntime alone on feeds built beforehand, to show where Lockgate's time goes."
        ),
    )
    ours = lockgate_side(cases, sizes)
    sk = sklearn_side(cases, sizes)
    peer: dict[str, Any] = {}
    if mlflow is not None and mlflow.ok:
        peer = mlflow_side(cases, sizes, mlflow)
        section.versions["MLflow env"] = peer["versions"]
    elif mlflow is not None:
        section.notes.append(f"MLflow did not run: {mlflow.error}")
    section.versions["Lockgate env"] = versions("onnxruntime", "numpy", "scikit-learn", "pandas")
    mlres: dict[str, Any] = peer.get("results", {})
    rows: list[list[str]] = []
    one_row_ratios: dict[str, float] = {}
    agreement = 0.0
    for case in cases:
        for label, shown in (("1", "1"), ("batch", f"{sizes.batch_rows:,}")):
            lg, skl = ours[case.key][label], sk[case.key][label]
            ml = mlres.get(case.key, {}).get(label)
            r_ml = ratio(ml["median"], lg["median"]) if ml else None
            if label == "1" and r_ml is not None:
                one_row_ratios[case.key] = r_ml
            rows.append(
                [
                    case.key,
                    shown,
                    f"{fmt_time(lg['median'])} ({fmt_time(lg['p99'])})",
                    fmt_time(ours[case.key][label + "_run"]["median"]),
                    f"{fmt_time(skl['median'])} ({fmt_time(skl['p99'])})",
                    f"{fmt_time(ml['median'])} ({fmt_time(ml['p99'])})" if ml else "—",
                    fmt_ratio(ratio(skl["median"], lg["median"])),
                    fmt_ratio(r_ml),
                ]
            )
        reference = sk[case.key]["first_row_proba"]
        for other in (ours[case.key], mlres.get(case.key)):
            if other:
                diff = max(abs(a - b) for a, b in zip(reference, other["first_row_proba"], strict=True))
                agreement = max(agreement, diff)
    section.tables.append(
        Table(
            [
                "model",
                "rows",
                "Lockgate",
                "of which session.run",
                "scikit-learn",
                "MLflow pyfunc",
                "scikit-learn / Lockgate",
                "MLflow / Lockgate",
            ],
            rows,
        )
    )
    section.notes.append(
        f"Same model on every side: the first row's probabilities agree to {agreement:.1e} "
        "(ONNX computes in float32)."
    )
    slower = [c.key for c in cases if ours[c.key]["batch"]["median"] > sk[c.key]["batch"]["median"]]
    if slower:
        parts = [
            [
                c.key,
                fmt_time(ours[c.key]["batch"]["median"]),
                fmt_time(ours[c.key]["batch_validate"]["median"]),
                fmt_time(ours[c.key]["batch_feeds"]["median"]),
                fmt_time(ours[c.key]["batch_run"]["median"]),
                fmt_time(sk[c.key]["batch"]["median"]),
            ]
            for c in cases
        ]
        section.tables.append(
            Table(
                ["model", "Lockgate", "validate_instances", "build_feeds", "session.run", "scikit-learn"],
                parts,
                f"Lockgate at {sizes.batch_rows:,} rows, where the time goes (medians, same run).",
            )
        )
        section.notes.append(
            f"At {sizes.batch_rows:,} rows Lockgate is slower than scikit-learn on {len(slower)} of {len(cases)} "
            "models (no target covers batches): onnxruntime itself is fast, but `validate_instances` "
            "checks every value in Python (one call per value, 25 features × 1,000 rows). Checking a "
            "column at a time with numpy after one pass to collect the values would bring a batch close "
            "to `build_feeds` + `session.run`; batch scoring (`lockgate.services.batch`) goes through the same "
            "`Predictor.predict` and would gain as much."
        )
    if one_row_ratios:
        worst = min(one_row_ratios, key=lambda k: one_row_ratios[k])
        value = one_row_ratios[worst]
        met = value >= TARGET
        detail = f"worst case {fmt_ratio(value)} ({worst}); best {fmt_ratio(max(one_row_ratios.values()))}"
        if not met:
            detail += f"; missed by {TARGET / value:.1f}× ({fmt_ratio(value)} instead of {TARGET:.0f}×)"
        section.verdicts.append(Verdict("≥ 20× faster than MLflow pyfunc on one row", met, detail))
    else:
        section.verdicts.append(Verdict("≥ 20× faster than MLflow pyfunc on one row", None, "MLflow not run"))
    section.raw = {"lockgate": ours, "sklearn": sk, "mlflow": mlres}
    return section
