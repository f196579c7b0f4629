"""`lockgate demo` tells the whole story end to end (a separate process: its own local cloud)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_completes_every_stage(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT", "REGISTRY_", "ARTIFACT_"))
    }
    env["COLUMNS"] = "160"
    result = subprocess.run(
        [sys.executable, "-m", "lockgate_cli", "demo", "--fast", "--out", str(tmp_path)],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for stage in (
        "Upload the dataset",
        "A champion serves real HTTP predictions",
        "says drift",
        "Alert raised",
        "Retraining on original",
        "demo complete",
    ):
        assert stage in output, f"missing stage {stage!r}:\n{output[-3000:]}"
    assert list(tmp_path.glob("drift-*.html")) and list(tmp_path.glob("model-card-v1.md"))
