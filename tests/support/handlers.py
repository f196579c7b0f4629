"""Load a function's handler module by path (every function's module is called ``app``)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from lockgate.adapters import wiring

ROOT = Path(__file__).resolve().parents[2]


def load_function(name: str) -> ModuleType:
    """Import ``functions/<name>/app.py`` fresh, under a unique module name.

    As on Lambda, the function's folder is on the path so its own package (the API's Chalice
    ``chalicelib``) imports: pyproject's pytest ``pythonpath`` lists functions/api (configuration,
    not a ``sys.path`` edit). That package is dropped first, so its cached adapters are fresh too.
    """
    path = ROOT / "functions" / name / "app.py"
    wiring.reset()  # adapters are built anew from this test's settings, as in a new container
    module_name = f"lockgate_fn_{name}"
    sys.modules.pop(module_name, None)
    for loaded in [m for m in sys.modules if m == "chalicelib" or m.startswith("chalicelib.")]:
        del sys.modules[loaded]
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def load_event(function: str, case: str) -> dict[str, Any]:
    return json.loads((ROOT / "events" / function / f"{case}.json").read_text())


class FakeContext:
    """Shaped like Lambda's context object."""

    def __init__(self, name: str = "fn", timeout_ms: int = 30_000) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.memory_limit_in_mb = 1024
        self.aws_request_id = "00000000-0000-0000-0000-000000000000"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "test"
        self._timeout_ms = timeout_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_ms
