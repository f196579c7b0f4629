"""Build dependency folders for functions and layers, the way `sam build` would, but in milliseconds.

A layer's or function's ``requirements.txt`` names what it ships. On AWS, `sam build` installs
those into the package; locally we resolve the same names (and their dependencies, markers
evaluated) against the project's pinned environment and symlink each distribution's top-level
modules into a folder. A worker then sees exactly what the package would contain: importing
anything else fails locally as it would on AWS.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import re
import shutil
import sys
from pathlib import Path

from packaging.requirements import Requirement

# What the Lambda Python runtime itself provides.
RUNTIME_PROVIDED = ("boto3",)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _read_requirements(path: Path) -> list[Requirement]:
    reqs = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            reqs.append(Requirement(line))
    return reqs


def resolve(requirements: list[Requirement]) -> list[md.Distribution]:
    """The installed distributions these requirements pull in, transitively."""
    seen: dict[str, md.Distribution] = {}
    todo = [(r, frozenset(r.extras)) for r in requirements]
    env = {"python_version": f"{sys.version_info.major}.{sys.version_info.minor}"}
    while todo:
        req, extras = todo.pop()
        key = _normalise(req.name)
        if key in seen:
            continue
        try:
            dist = md.distribution(req.name)
        except md.PackageNotFoundError as exc:
            raise RuntimeError(
                f"requirement {req.name!r} is not installed in the project environment; add it to pyproject.toml"
            ) from exc
        seen[key] = dist
        for sub in dist.requires or []:
            child = Requirement(sub)
            if child.marker is not None:
                ok = any(child.marker.evaluate({**env, "extra": e}) for e in (extras or {""}))
                if not ok:
                    continue
            todo.append((child, frozenset(child.extras)))
    return list(seen.values())


def _top_level_entries(dist: md.Distribution) -> set[Path]:
    base = Path(str(dist.locate_file("")))
    entries: set[Path] = set()
    for file in dist.files or []:
        parts = Path(str(file)).parts
        if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith(".pth"):
            continue
        entries.add(base / parts[0])
    return entries


def build_deps_dir(requirements_file: Path, cache_root: Path) -> Path | None:
    """Folder of symlinks holding what ``requirements_file`` ships; None when there is no such file.

    The folder is named by the requirements and the exact installed versions they resolve to, so
    an upgraded environment builds a new one; a folder with a dangling link (the environment was
    being reinstalled when it was built) is rebuilt.
    """
    if not requirements_file.is_file():
        return None
    dists = resolve(_read_requirements(requirements_file))
    pins = sorted(f"{_normalise(d.metadata['Name'])}=={d.version}" for d in dists)
    digest = hashlib.sha256("\n".join(pins).encode()).hexdigest()[:16]
    target = cache_root / digest
    if (target / ".complete").exists() and all(link.exists() for link in target.iterdir()):
        return target
    tmp = cache_root / f"{digest}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for dist in dists:
        for entry in _top_level_entries(dist):
            link = tmp / entry.name
            if not entry.exists():
                raise RuntimeError(
                    f"{dist.metadata['Name']} is half-installed ({entry} is missing); reinstall the environment"
                )
            if not link.exists():
                link.symlink_to(entry)
    (tmp / ".complete").write_text("\n".join(pins) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def runtime_dir(cache_root: Path) -> Path:
    """What the Lambda Python runtime provides besides the standard library (boto3 and its deps)."""
    req = cache_root / "runtime-requirements.txt"
    req.parent.mkdir(parents=True, exist_ok=True)
    req.write_text("\n".join(RUNTIME_PROVIDED) + "\n")
    built = build_deps_dir(req, cache_root)
    assert built is not None
    return built
