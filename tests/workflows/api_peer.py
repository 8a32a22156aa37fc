"""A loopback HTTP server standing in for outside tools (warehouse, enrichment, billing,
mailing, scoring, sync): each route answers scripted JSON, and every request is recorded with
its parsed body, so a test checks what a workflow sent and controls what it got back."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def handle_any(self):
        parts = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self.server.requests.append(
            {
                "method": self.command,
                "path": parts.path,
                "query": {k: v[-1] for k, v in parse_qs(parts.query).items()},
                "headers": dict(self.headers.items()),
                "json": body,
            }
        )
        status, answer = self.server.routes.get(
            (self.command, parts.path), (404, {"error": "no route"})
        )
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class ApiPeer:
    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.requests = []
        self.server.routes = {}
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def route(self, method: str, path: str, answer, status: int = 200) -> str:
        """Scripts the answer to `method path` and returns the route's URL."""
        self.server.routes[(method, path)] = (status, answer)
        return self.base + path

    @property
    def requests(self) -> list[dict]:
        return self.server.requests

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
