"""A real HTTP server on 127.0.0.1 for the HTTP Request step's tests: no mocks of requests.

Routes:
  /echo      the request as JSON: method, path, query (lists), headers, body (text)
  /text      "hello" as text/plain
  /unicode   UTF-8 text/plain that does not name its charset
  /status    answers ?code= with body "boom <code>"
  /slow      waits ?seconds= before echoing
  /drip      declares 1,000 bytes and sends one every 0.1 s
  /huge      streams ?mb= megabytes (default 11) with no Content-Length
  /declared  declares ?mb= megabytes in Content-Length, then streams them
  /redirect  answers ?code= (default 302) with Location ?to=
  /loop      redirects to itself
"""

import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MEGABYTE = 1024 * 1024


class PeerHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep test output clean
        pass

    def handle_any(self):
        parts = urlsplit(self.path)
        self.params = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        self.server.received.append((self.command, self.path))
        route = getattr(self, "route_" + parts.path.strip("/"), None)
        if route is None:
            return self.answer(404, "text/plain", b"no such route")
        try:
            route()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeouts, size cap): that is the point of the test

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any

    def answer(self, status, content_type, data: bytes, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def route_echo(self):
        parts = urlsplit(self.path)
        echoed = {
            "method": self.command,
            "path": parts.path,
            "query": parse_qs(parts.query, keep_blank_values=True),
            "headers": dict(self.headers.items()),
            "body": self.body.decode("utf-8", errors="replace"),
        }
        self.answer(200, "application/json", json.dumps(echoed).encode(), {"X-Peer": "yes"})

    def route_text(self):
        self.answer(200, "text/plain; charset=utf-8", b"hello")

    def route_unicode(self):
        self.answer(200, "text/plain", "Grüße, Zoë".encode())

    def route_status(self):
        code = int(self.params.get("code", 500))
        self.answer(code, "text/plain", f"boom {code}".encode())

    def route_slow(self):
        time.sleep(float(self.params.get("seconds", 3)))
        self.route_echo()

    def route_drip(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "1000")
        self.end_headers()
        for _ in range(1000):
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(0.1)

    def route_huge(self):
        self.stream(float(self.params.get("mb", 11)), declare=False)

    def route_declared(self):
        self.stream(float(self.params.get("mb", 11)), declare=True)

    def stream(self, megabytes: float, declare: bool):
        size = int(megabytes * MEGABYTE)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if declare:
            self.send_header("Content-Length", str(size))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        chunk = b"x" * 65536
        sent = 0
        while sent < size:
            piece = chunk[: size - sent]
            self.wfile.write(piece)
            sent += len(piece)

    def route_redirect(self):
        code = int(self.params.get("code", 302))
        self.answer(code, "text/plain", b"moved", {"Location": self.params["to"]})

    def route_loop(self):
        self.answer(302, "text/plain", b"again", {"Location": "/loop"})


class Peer:
    """A running server: `url(path)` builds an address on it, `received` lists
    (method, path) of every request it got."""

    def __init__(self, tls: ssl.SSLContext | None = None, host_name: str = "127.0.0.1"):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), PeerHandler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.server.received = []
        self.server.handle_error = lambda request, address: None  # failed TLS handshakes
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self.host_name = host_name
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def received(self) -> list[tuple[str, str]]:
        return self.server.received

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host_name}:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
