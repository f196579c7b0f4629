"""Deploy size: what the serving function ships (its code and its layers), unzipped.

The distributions are resolved exactly as the local cloud builds each package
(``localcloud.deps.resolve`` over the requirement files, markers evaluated, against the project's
pinned environment); sizes are the installed files each distribution records, with ``tests``
folders and ``__pycache__``/``.pyc`` stripped. Everything the requirements pull in is counted, as
``sam build`` would install it, even what the Lambda runtime also provides (the page says how much).
"""

from __future__ import annotations

import importlib.metadata as md
from collections.abc import Iterable
from pathlib import Path

from benchmarks.common import ROOT, WORK, MiB, Section, Sizes, Table, Verdict, fmt_mib, fmt_ratio
from benchmarks.data import ModelCase

TARGET_MIB = 120
LAMBDA_LIMIT = 262_144_000  # bytes: Lambda's 250 MB unzipped limit (function + layers)
STRIPPED_DIRS = {"__pycache__", "tests"}
PEER_STACK = ("scikit-learn", "pandas", "scipy", "joblib")
UNUSED_ORT_PARTS = ("transformers", "quantization", "tools")


def _skip(parts: tuple[str, ...]) -> bool:
    return any(p in STRIPPED_DIRS for p in parts) or parts[-1].endswith((".pyc", ".pyo"))


def tree_size(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        rel = path.relative_to(folder).parts
        if path.is_file() and not path.is_symlink() and not _skip(rel):
            total += path.stat().st_size
    return total


def dist_size(dist: md.Distribution) -> int:
    total = 0
    for file in dist.files or []:
        parts = Path(str(file)).parts
        if not parts or parts[0] == ".." or _skip(parts):
            continue
        path = Path(str(dist.locate_file(file)))
        if path.is_file():
            total += path.stat().st_size
    return total


def _name(dist: md.Distribution) -> str:
    return str(dist.metadata["Name"])


def resolved(requirement_files: Iterable[Path]) -> dict[str, md.Distribution]:
    from localcloud import deps

    reqs = []
    for path in requirement_files:
        reqs += deps._read_requirements(path)
    return {_name(d).lower(): d for d in deps.resolve(reqs)}


def requirement_names(names: Iterable[str]) -> dict[str, md.Distribution]:
    from localcloud import deps
    from packaging.requirements import Requirement

    return {_name(d).lower(): d for d in deps.resolve([Requirement(n) for n in names])}


def _top_level(dist: md.Distribution) -> set[str]:
    names = set()
    for file in dist.files or []:
        first = Path(str(file)).parts[0]
        if first.endswith((".dist-info", ".egg-info", ".pth")) or first in ("..", "__pycache__", "bin"):
            continue
        names.add(first.split(".")[0])
    return names


def _slim_onnxruntime() -> tuple[Path, int]:
    """A copy of onnxruntime without what the Python binding never loads; (folder, bytes left out)."""
    import shutil

    import onnxruntime

    source = Path(onnxruntime.__file__).parent
    target = WORK / "slim" / "onnxruntime"
    shutil.rmtree(target.parent, ignore_errors=True)
    dropped = 0

    def ignore(folder: str, names: list[str]) -> set[str]:
        nonlocal dropped
        skip = {n for n in names if n.startswith("libonnxruntime.so") or n in UNUSED_ORT_PARTS}
        skip |= {n for n in names if n in STRIPPED_DIRS}
        for name in skip - STRIPPED_DIRS:
            path = Path(folder) / name
            dropped += tree_size(path) if path.is_dir() else path.stat().st_size
        return skip

    shutil.copytree(source, target, ignore=ignore)
    return target.parent, dropped


def _audit(
    case: ModelCase,
    section: Section,
    shipped: dict[str, int],
    ours: dict[str, md.Distribution],
    where: dict[str, str],
    total: int,
) -> None:
    """Explain the miss with what this run measured: what is never imported, what can be stripped."""
    from benchmarks.cold_start import _once, layer_paths

    paths = layer_paths()
    files = case.files()
    api = _once("api", case, paths["api"], files)
    imported = set(api["top_modules"])
    unused = {
        k: shipped[k]
        for k, d in ours.items()
        if _top_level(d) and not (_top_level(d) & imported) and shipped[k] > 0
    }
    slim, dropped = _slim_onnxruntime()
    check = _once("serving", case, [str(slim), *paths["serving"]], files)
    verified = abs(check["proba"][next(iter(check["proba"]))] - api["proba"][next(iter(api["proba"]))]) < 1e-6
    big = sorted(shipped.items(), key=lambda kv: -kv[1])[:2]
    section.why.append(
        "Two native runtimes are most of it: "
        + " and ".join(f"{k} {fmt_mib(v)}" for k, v in big)
        + f" of {fmt_mib(total)}."
    )
    section.why.append(
        f"onnxruntime's wheel also carries `capi/libonnxruntime.so` (the C API library, which the Python "
        f"binding does not load) and the `{'`, `'.join(UNUSED_ORT_PARTS)}` subpackages: {fmt_mib(dropped)} "
        + (
            "that serving never uses — verified in this run: a copy without them loaded the model and "
            "predicted the same probabilities."
            if verified
            else "(a copy without them did NOT reproduce the prediction in this run, so keep them)."
        )
    )
    if unused:
        section.why.append(
            f"{len(unused)} distributions ({fmt_mib(sum(unused.values()))}) are never imported while the "
            "API function starts and serves a prediction (measured from `sys.modules` in this run): "
            + ", ".join(
                f"{k} {fmt_mib(v)}" for k, v in sorted(unused.items(), key=lambda kv: -kv[1]) if v >= MiB / 2
            )
            + ". By what brings them in: "
            + ", ".join(
                f"{label} {fmt_mib(sum(v for k, v in unused.items() if where[k] == label))}"
                for label in sorted({where[k] for k in unused})
            )
            + " (Chalice's share is its command-line packaging tooling: pip, setuptools, wheel, inquirer). "
            "The core layer's are used by the other functions that share the layer, so only the API "
            "function's and the serving layer's can go."
        )
    droppable = {k: v for k, v in unused.items() if where[k] != "core layer"}
    saving = (dropped if verified else 0) + sum(droppable.values())
    after = total - saving
    section.why.append(
        "What would close it: a layer build step that drops the unused onnxruntime parts"
        + (
            " and the never-imported distributions of the API function and the serving layer"
            if droppable
            else ""
        )
        + f" would ship {fmt_mib(after)} — "
        + (
            "under the target."
            if after <= TARGET_MIB * MiB
            else f"still {fmt_mib(after - TARGET_MIB * MiB)} over."
        )
        + " Beyond that, only a smaller numpy build or an onnxruntime minimal build (operators limited to "
        "the ones the exported graphs use) would cut further."
    )


def run(sizes: Sizes, case: ModelCase | None = None) -> Section:
    section = Section(
        key="deploy_size",
        title="Deploy size",
        what=(
            "Bytes on disk, unzipped, of what the API (serving) function deploys: its code "
            "(`functions/api`), the core layer (`layers/core/lockgate` + `layers/core/requirements.txt`), "
            "the serving layer (`layers/serving/requirements.txt`) and the function's own requirements "
            "(`functions/api/requirements.txt`), resolved transitively as the local cloud and `sam build` "
            "resolve them; `tests` folders and bytecode caches stripped. The peer is the scikit-learn + "
            "pandas + scipy (+ joblib) stack a scikit-learn model needs to be served, measured the same way."
        ),
    )
    from localcloud.deps import RUNTIME_PROVIDED

    code = {
        "functions/api (code)": tree_size(ROOT / "functions/api"),
        "layers/core/lockgate (code)": tree_size(ROOT / "layers/core/lockgate"),
    }
    where: dict[str, str] = {}
    ours: dict[str, md.Distribution] = {}
    for label, path in (
        ("core layer", ROOT / "layers/core/requirements.txt"),
        ("serving layer", ROOT / "layers/serving/requirements.txt"),
        ("api function", ROOT / "functions/api/requirements.txt"),
    ):
        for key, dist in resolved([path]).items():
            if key not in ours:
                ours[key], where[key] = dist, label
    shipped = {k: dist_size(d) for k, d in ours.items()}
    total = sum(code.values()) + sum(shipped.values())
    runtime = requirement_names(RUNTIME_PROVIDED)
    provided = sorted(k for k in ours if k in runtime)
    provided_size = sum(shipped[k] for k in provided)
    peer = requirement_names(PEER_STACK)
    peer_sizes = {k: dist_size(d) for k, d in peer.items()}
    peer_total = sum(peer_sizes.values())

    rows = [[name, "code", fmt_mib(size)] for name, size in code.items()]
    small = {k: v for k, v in shipped.items() if v < MiB}
    for name, size in sorted(shipped.items(), key=lambda kv: -kv[1]):
        if name not in small:
            rows.append([f"{name} {ours[name].version}", where[name], fmt_mib(size)])
    rows.append([f"{len(small)} smaller distributions (< 1 MiB each)", "all", fmt_mib(sum(small.values()))])
    rows.append(["**Lockgate serving function, total**", "", f"**{fmt_mib(total)}**"])
    section.tables.append(
        Table(["Lockgate: part", "brought in by", "unzipped"], rows, "What the serving function ships.")
    )
    peer_rows = [
        [f"{name} {peer[name].version}", fmt_mib(size)]
        for name, size in sorted(peer_sizes.items(), key=lambda kv: -kv[1])
    ]
    peer_rows.append(["**scikit-learn + pandas + scipy stack, total**", f"**{fmt_mib(peer_total)}**"])
    section.tables.append(Table(["peer: part", "unzipped"], peer_rows))
    section.tables.append(
        Table(
            ["", "Lockgate serving function", "scikit-learn stack (dependencies only)", "peer / Lockgate"],
            [
                ["unzipped", fmt_mib(total), fmt_mib(peer_total), fmt_ratio(peer_total / total)],
                [
                    "share of Lambda's 250 MB limit",
                    f"{total / LAMBDA_LIMIT:.0%}",
                    f"{peer_total / LAMBDA_LIMIT:.0%}",
                    "",
                ],
            ],
        )
    )
    if provided:
        section.notes.append(
            f"Counted although the Lambda runtime already has them: {', '.join(provided)} "
            f"({fmt_mib(provided_size)}), which Chalice requires, so `sam build` installs them into the "
            f"package; without them the function would be {fmt_mib(total - provided_size)}."
        )
    met = total <= TARGET_MIB * MiB
    detail = f"{fmt_mib(total)} ({total / LAMBDA_LIMIT:.0%} of Lambda's limit)"
    if not met:
        detail += f"; missed by {fmt_mib(total - TARGET_MIB * MiB)}"
        if case is not None:
            _audit(case, section, shipped, ours, where, total)
    else:
        detail += f"; {fmt_mib(TARGET_MIB * MiB - total)} to spare"
    section.verdicts.append(Verdict(f"≤ {TARGET_MIB} MiB (Lambda's limit is 250 MB)", met, detail))
    section.raw = {"total": total, "peer_total": peer_total, "shipped": shipped, "code": code}
    return section
