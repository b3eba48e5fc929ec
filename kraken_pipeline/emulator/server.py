"""The HTTP side: a threaded stdlib server with HTTP/1.1 keep-alive, routing and transport faults.

A thread per connection, so latency and slow-answer faults never hold up other requests.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

from kraken_pipeline.emulator.answers import Answer, html_answer, json_answer
from kraken_pipeline.emulator.auth_server import TokenEndpoint
from kraken_pipeline.emulator.control import ControlApi
from kraken_pipeline.emulator.errors import CATALOGUE
from kraken_pipeline.emulator.faults import ECHO_KINDS, ODD_PAYLOAD_KINDS, TRANSPORT_KINDS, Fault
from kraken_pipeline.emulator.graphql_api import GraphQLEndpoint
from kraken_pipeline.emulator.oddities import apply_oddity, carries_nodes
from kraken_pipeline.emulator.state import EmulatorState
from kraken_pipeline.emulator.tls import handshake, wrap_listener

TOKEN_PATH = "/token/"  # noqa: S105 (a URL path, not a secret)
GRAPHQL_PATH = "/v1/graphql/"
CONTROL_PREFIX = "/_emulator/"
_IDLE_TIMEOUT_SECONDS = 120
_MAX_BODY_BYTES = 1 << 20
_STATUS_TITLES = {
    403: "Forbidden",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows the emulator and its open connections (HTTPS with TLS)."""

    daemon_threads = True
    block_on_close = False  # stop() closes connections itself; see close_connections

    def __init__(
        self,
        address: tuple[str, int],
        state: EmulatorState,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.state = state
        self.token_endpoint = TokenEndpoint(state)
        self.graphql_endpoint = GraphQLEndpoint(state)
        self.control = ControlApi(state)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)
        if tls_context is not None:
            self.socket = wrap_listener(self.socket, tls_context)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut every open connection down, waking the threads that wait on them."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the peer
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Routes one request: token, GraphQL or the control API."""

    protocol_version = "HTTP/1.1"  # keep-alive, as a pooled client expects
    timeout = _IDLE_TIMEOUT_SECONDS
    server_version = "KrakenEmulator/1"

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes; without this, Nagle's algorithm meets the
        # client's delayed ACK and every answer waits ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        if not handshake(self.connection):
            self.close_connection = True
            return
        super().handle()

    def do_POST(self) -> None:
        self._route("POST")

    def do_GET(self) -> None:
        self._route("GET")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: request lines would flood test output (and could carry tokens in future)."""

    def _route(self, method: str) -> None:
        server = cast(EmulatorHTTPServer, self.server)
        path = self.path.split("?", 1)[0]
        body = self._read_body()
        if body is None:
            return
        if path.startswith(CONTROL_PREFIX):
            self._send(server.control.answer(method, path[len(CONTROL_PREFIX) :], body))
            return
        endpoint: TokenEndpoint | GraphQLEndpoint
        if path == TOKEN_PATH:
            name, endpoint = "token", server.token_endpoint
        elif path == GRAPHQL_PATH:
            name, endpoint = "graphql", server.graphql_endpoint
        else:
            self._send(json_answer(404, {"error": f"no such endpoint {path}"}))
            return
        if method != "POST":
            self._send(json_answer(405, {"error": "use POST"}, ("Allow", "POST")))
            return
        self._serve(server.state, name, endpoint, body)

    def _serve(
        self,
        state: EmulatorState,
        name: str,
        endpoint: TokenEndpoint | GraphQLEndpoint,
        body: bytes,
    ) -> None:
        """Answer an API request: count it, apply a transport fault if armed, answer on time."""
        state.stats.count_request(name)
        # Latency includes the answer's compute time, as from a Kraken computing on many workers.
        due = time.monotonic() + state.config.latency.total_seconds()
        fault = state.faults.take(TRANSPORT_KINDS, name)
        if fault is not None and fault.kind in _ANSWERED_INSTEAD:
            _sleep_until(due)
            answer = _status_answer(fault) if fault.kind == "http_status" else _redirect(fault)
            self._send(answer)
            state.stats.count_errors({f"HTTP {answer.status}"})
            return
        echo = state.faults.take(ECHO_KINDS, name) if name == "graphql" else None
        if echo is not None:
            answer = _echo_answer(echo, self.headers.get("Authorization"))
        else:
            answer = endpoint.answer(body, self.headers.get("Authorization"))
        if name == "graphql" and carries_nodes(answer):
            answer = apply_oddity(answer, state.faults.take(ODD_PAYLOAD_KINDS, name))
        _sleep_until(due)  # in this connection's thread only: other requests go on
        self._send_with_fault(answer, fault)

    def _read_body(self) -> bytes | None:
        length_text = self.headers.get("Content-Length") or "0"
        length = int(length_text) if length_text.isdigit() else -1
        if not 0 <= length <= _MAX_BODY_BYTES:
            self.close_connection = True
            self._send(json_answer(400, {"error": "a Content-Length up to 1 MiB is required"}))
            return None
        return self.rfile.read(length)

    def _send_with_fault(self, answer: Answer, fault: Fault | None) -> None:
        if fault is None:
            self._send(answer)
        elif fault.kind == "delay":
            time.sleep(fault.delay_seconds)
            self._send(answer)
        elif fault.kind == "slow_drip":
            self._drip(answer, fault.delay_seconds or 1.0)
        elif fault.kind == "truncated_json":
            cut = answer.body[: max(1, len(answer.body) // 2)]
            self._send(Answer(answer.status, cut, answer.content_type, answer.headers))
        else:  # cut_body: promise the whole body, send half, hang up
            self._send(answer, body_limit=len(answer.body) // 2)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    def _drip(self, answer: Answer, pause: float) -> None:
        """The headers at once, then the body one byte every `pause` seconds."""
        self._send(answer, body_limit=0)
        try:
            for index in range(len(answer.body)):
                time.sleep(pause)
                self.wfile.write(answer.body[index : index + 1])
                self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client gave up waiting, as it should

    def _send(self, answer: Answer, body_limit: int | None = None) -> None:
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body if body_limit is None else answer.body[:body_limit])
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout); nothing to answer


_ANSWERED_INSTEAD = frozenset({"http_status", "redirect"})


def _redirect(fault: Fault) -> Answer:
    status = fault.status if 300 <= fault.status <= 399 else 307
    return Answer(status, b"", "text/plain", (("Location", fault.location),))


def _echo_answer(fault: Fault, authorization: str | None) -> Answer:
    """A careless server's error: its message repeats the Authorization header it was sent."""
    error_type, _message, description = CATALOGUE.get(fault.code, ("APPLICATION", "", ""))
    error = {
        "message": f"Could not process the request with Authorization: {authorization}",
        "extensions": {
            "errorType": error_type,
            "errorCode": fault.code,
            "errorDescription": description,
        },
    }
    return json_answer(200, {"errors": [error]})


def _status_answer(fault: Fault) -> Answer:
    headers = [("Retry-After", str(fault.retry_after))] if fault.retry_after is not None else []
    return html_answer(fault.status, _STATUS_TITLES.get(fault.status, "Error"), *headers)


def _sleep_until(due: float) -> None:
    remaining = due - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
