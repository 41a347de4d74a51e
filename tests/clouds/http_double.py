"""Shared HTTP plumbing for the loopback cloud API doubles.

Each double is a ThreadingHTTPServer on 127.0.0.1 with an ephemeral port. Routes are (method, regex) pairs;
a handler gets the match, the parsed query, the JSON body and the request headers, and returns
(status, body, headers). The request log keeps method, path and status only, never headers or bodies, so no
credential or token ever reaches it.
"""

import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOG = logging.getLogger(__name__)


class ApiError(Exception):
    """An error response: HTTP status plus a JSON body."""

    def __init__(self, status, body):
        super().__init__(status)
        self.status = status
        self.body = body


class HttpDouble:
    """Base class: route table, server thread, request log and a lock around the state."""

    def __init__(self):
        self.lock = threading.RLock()
        self.routes = []
        self.requests = []
        self.server = None
        self.thread = None

    def route(self, method, pattern, handler):
        self.routes.append((method, re.compile(pattern + r"/?$"), handler))

    @property
    def port(self):
        return self.server.server_address[1]

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # the default logs to stderr; the request log below is enough
                pass

            def do_GET(self):
                double.dispatch(self, "GET")

            def do_POST(self):
                double.dispatch(self, "POST")

            def do_PUT(self):
                double.dispatch(self, "PUT")

            def do_PATCH(self):
                double.dispatch(self, "PATCH")

            def do_DELETE(self):
                double.dispatch(self, "DELETE")

            def do_HEAD(self):
                double.dispatch(self, "HEAD")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name=type(self).__name__, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def dispatch(self, request, method):
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        status, payload, headers = 404, {"message": f"no route for {method} {parts.path}"}, {}
        for route_method, pattern, handler in self.routes:
            match = pattern.match(parts.path)
            if route_method == method and match:
                try:
                    status, payload, headers = handler(match, query, body, request.headers)
                except ApiError as error:
                    status, payload, headers = error.status, error.body, {}
                except Exception:  # a bug in the double must show up as a 500, not a hung client
                    LOG.exception("double handler failed on %s %s", method, parts.path)
                    status, payload, headers = 500, {"message": "internal error in the test double"}, {}
                break
        with self.lock:
            self.requests.append((method, parts.path, status))
        self.respond(request, status, payload, headers)

    @staticmethod
    def respond(request, status, payload, headers):
        if payload is None:
            data = b""
        elif isinstance(payload, (bytes, str)):
            data = payload.encode() if isinstance(payload, str) else payload
            headers = {"Content-Type": "text/plain", **headers}
        else:
            data = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json", **headers}
        try:
            request.send_response(status)
            for name, value in headers.items():
                request.send_header(name, value)
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            if request.command != "HEAD":
                request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout fault); the state change already happened, as on a real cloud.
            pass
