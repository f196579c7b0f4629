"""The floor: a bare onnxruntime HTTP server, the least any Python server can do per request.

``python onnx_http_server.py <config.json>`` with ``{"onnx", "signature", "port"}``. POST any path
with ``{"instances": [...]}``; answers ``{"probabilities": [[...]]}``. No validation, no auth, no
logging; keep-alive with Nagle disabled (otherwise each response waits ~40 ms for a delayed ACK).
"""

from __future__ import annotations

import json
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import onnxruntime as ort


def main() -> None:
    config = json.loads(open(sys.argv[1]).read())
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        open(config["onnx"], "rb").read(), options, providers=["CPUExecutionProvider"]
    )
    inputs = json.loads(open(config["signature"]).read())["inputs"]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:  # noqa: N802
            rows = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["instances"]
            feeds = {}
            for feature in inputs:
                values = [row[feature["name"]] for row in rows]
                if feature["type"] == "number":
                    feeds[feature["name"]] = np.array(
                        [np.nan if v is None else v for v in values], dtype=np.float32
                    ).reshape(-1, 1)
                else:
                    feeds[feature["name"]] = np.array(
                        ["" if v is None else str(v) for v in values], dtype=object
                    ).reshape(-1, 1)
            _, probabilities = session.run(None, feeds)
            body = json.dumps({"probabilities": probabilities.tolist()}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", int(config["port"])), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
