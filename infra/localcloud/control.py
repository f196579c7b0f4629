"""A small control endpoint for a running local cloud, so `lockgate deploy` and `lockgate schedule`
from another terminal reach the process started by `lockgate up`."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.cloud import LocalCloud


def start_control(cloud: LocalCloud, port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/schedules":
                self._send(
                    200,
                    [
                        {
                            "name": r.name,
                            "expression": r.expression,
                            "enabled": r.enabled,
                            "next_fire": r.next_fire.isoformat(),
                            "last_fire": r.last_fire.isoformat() if r.last_fire else None,
                        }
                        for r in cloud.scheduler.rules()
                    ],
                )
            elif self.path == "/status":
                self._send(
                    200,
                    {
                        "endpoint": cloud.endpoint,
                        "api_url": cloud.api_url,
                        "outputs": cloud.outputs,
                        "runtime": cloud.runtime.stats,
                    },
                )
            else:
                self._send(404, {"error": f"no such control route {self.path}"})

        def do_POST(self) -> None:
            try:
                if self.path == "/deploy":
                    deployment = cloud.deploy()
                    self._send(200, {"outputs": deployment.outputs, "functions": deployment.functions})
                elif self.path.startswith("/schedules/") and self.path.endswith("/fire"):
                    name = self.path[len("/schedules/") : -len("/fire")]
                    self._send(200, cloud.fire_schedule(name))
                else:
                    self._send(404, {"error": f"no such control route {self.path}"})
            except KeyError as exc:
                self._send(404, {"error": str(exc.args[0]) if exc.args else str(exc)})
            except Exception as exc:  # noqa: BLE001 - reported to the CLI as one sentence
                self._send(400, {"error": str(exc)})

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="localcloud-control").start()
    cloud.control_port = server.server_address[1]
    return server
