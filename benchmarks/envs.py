"""The peers' own virtual environments, built with uv from the pinned files in ``benchmarks/peers``.

Each peer gets ``benchmarks/.envs/<name>`` (git-ignored), created with the project's interpreter and
``uv pip sync``-ed to ``benchmarks/peers/<name>.txt`` (compiled from ``<name>.in`` with
``uv pip compile <name>.in --python-version 3.11 -o <name>.txt``). A stamp holding the hash of the
pinned file makes a rerun skip an environment that is already in sync.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import ENVS, PEERS


@dataclass(frozen=True)
class PeerEnv:
    name: str
    python: Path | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.python is not None


def _uv() -> str:
    beside = Path(sys.executable).parent / "uv"
    if beside.exists():
        return str(beside)
    found = shutil.which("uv")
    if not found:
        raise RuntimeError("uv is not installed (make installs it into .venv)")
    return found


def _base_python() -> str:
    return str(getattr(sys, "_base_executable", sys.executable))


def ensure(name: str, *, check_import: str | None = None, timeout: float = 900) -> PeerEnv:
    """Create or sync the peer's environment; a failure is returned (not raised) so optional peers
    can be skipped with the reason."""
    pinned = PEERS / f"{name}.txt"
    target = ENVS / name
    python = target / "bin" / "python"
    digest = hashlib.sha256(pinned.read_bytes()).hexdigest()
    stamp = target / ".lockgate-bench-stamp"
    try:
        if not (python.exists() and stamp.exists() and stamp.read_text() == digest):
            uv = _uv()
            if not python.exists():
                subprocess.run(
                    [uv, "venv", "-q", "--python", _base_python(), str(target)],
                    check=True,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                )
            subprocess.run(
                [uv, "pip", "sync", "-q", "--python", str(python), str(pinned)],
                check=True,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            stamp.write_text(digest)
        if check_import:
            subprocess.run(
                [str(python), "-c", f"import {check_import}"],
                check=True,
                capture_output=True,
                text=True,
                timeout=300,
            )
    except subprocess.CalledProcessError as exc:
        tail = "\n".join((exc.stderr or exc.stdout or "").strip().splitlines()[-5:])
        return PeerEnv(name, None, f"{' '.join(map(str, exc.cmd[:3]))} failed: {tail}")
    except (subprocess.TimeoutExpired, OSError, RuntimeError) as exc:
        return PeerEnv(name, None, str(exc))
    return PeerEnv(name, python)
