"""The Lambda runtime interface inside a local worker process (standard library only).

Started by :mod:`localcloud.runtime` as ``python -I -S worker_bootstrap.py <in_fd> <out_fd> <paths_json>``:
no site-packages, only the function's code folder, its layers and the runtime's boto3 on ``sys.path``.
Reads length-prefixed JSON invocations from ``in_fd``, runs the handler, writes results to ``out_fd``.
Everything the handler prints goes to the invocation's log, like CloudWatch Logs on AWS.
"""

import importlib
import io
import json
import os
import struct
import sys
import threading
import time
import traceback
from typing import Any


class _LogSink(io.TextIOBase):
    """Collects what the function writes to stdout/stderr during one invocation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: list[str] = []

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        with self._lock:
            self._parts.append(s)
        return len(s)

    def flush(self) -> None:
        pass

    def take(self) -> str:
        with self._lock:
            out = "".join(self._parts)
            self._parts.clear()
        return out


class _Context:
    def __init__(self, info: dict[str, Any]) -> None:
        self.function_name = info["function_name"]
        self.function_version = info.get("function_version", "$LATEST")
        self.invoked_function_arn = info["invoked_function_arn"]
        self.memory_limit_in_mb = int(info["memory_limit_in_mb"])
        self.aws_request_id = info["aws_request_id"]
        self.log_group_name = info["log_group_name"]
        self.log_stream_name = info["log_stream_name"]
        self.identity = None
        self.client_context = None
        self._deadline = float(info["deadline_epoch"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _read(fd: int) -> dict[str, Any] | None:
    header = _read_exact(fd, 4)
    if header is None:
        return None
    (size,) = struct.unpack(">I", header)
    body = _read_exact(fd, size)
    return None if body is None else json.loads(body)


def _read_exact(fd: int, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _write(fd: int, message: dict[str, Any]) -> None:
    data = json.dumps(message).encode()
    os.write(fd, struct.pack(">I", len(data)) + data)


def _error(exc: BaseException, request_id: str) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def main() -> None:
    in_fd, out_fd = int(sys.argv[1]), int(sys.argv[2])
    paths = json.loads(sys.argv[3])
    sys.path[:0] = paths
    sink = _LogSink()
    sys.stdout = sink
    sys.stderr = sink
    module_name, _, func_name = os.environ["_HANDLER"].rpartition(".")
    handler = None
    init_error = None
    try:
        handler = getattr(importlib.import_module(module_name), func_name)
    except BaseException as exc:  # noqa: BLE001 - reported like Lambda's Runtime.ImportModuleError
        init_error = exc
    init_logs = sink.take()
    _write(out_fd, {"ready": True})
    while True:
        request = _read(in_fd)
        if request is None:
            return
        ctx = _Context(request["context"])
        print(f"START RequestId: {ctx.aws_request_id} Version: $LATEST", file=sink)
        started = time.perf_counter()
        if init_error is not None:
            kind = (
                "Runtime.ImportModuleError"
                if isinstance(init_error, ImportError)
                else "Runtime.UserCodeSyntaxError"
                if isinstance(init_error, SyntaxError)
                else type(init_error).__name__
            )
            print(f"[ERROR] {kind}: Unable to import module '{module_name}': {init_error}", file=sink)
            result = {
                "ok": False,
                "payload": json.dumps(
                    {
                        "errorMessage": f"Unable to import module '{module_name}': {init_error}",
                        "errorType": kind,
                        "requestId": ctx.aws_request_id,
                        "stackTrace": [],
                    }
                ),
            }
        else:
            try:
                assert handler is not None
                value = handler(json.loads(request["event"]), ctx)
                result = {"ok": True, "payload": json.dumps(value)}
            except Exception as exc:  # noqa: BLE001 - the runtime reports every handler error
                err = _error(exc, ctx.aws_request_id)
                print(f"[ERROR] {err['errorType']}: {err['errorMessage']}", file=sink)
                print("".join(traceback.format_exception(exc)), file=sink)
                result = {"ok": False, "payload": json.dumps(err)}
        elapsed = (time.perf_counter() - started) * 1000
        print(f"END RequestId: {ctx.aws_request_id}", file=sink)
        print(f"REPORT RequestId: {ctx.aws_request_id}\tDuration: {elapsed:.2f} ms", file=sink)
        result["logs"] = init_logs + sink.take()
        init_logs = ""
        _write(out_fd, result)


if __name__ == "__main__":
    main()
