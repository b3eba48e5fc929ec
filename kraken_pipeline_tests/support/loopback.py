"""A second loopback server for the client tests: answers what a test scripts, records requests.

It stands for "another origin": where a redirect points, or an endpoint answering bodies the
emulator never sends (an empty 400, a Retry-After date). Everything it receives is kept, so a
test can assert that no credential ever reached it.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Scripted:
    """One answer: status, headers and body."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Recorder:
    """What the server received (request line, headers and body of each) and will answer."""

    answers: list[Scripted] = field(default_factory=list)
    fallback: Scripted = field(default_factory=lambda: Scripted(404, b"nothing here"))
    received: list[str] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> Scripted:
        with self.lock:
            return self.answers.pop(0) if self.answers else self.fallback

    def everything_received(self) -> str:
        with self.lock:
            return "\n".join(self.received)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _answer(self) -> None:
        recorder: Recorder = self.server.recorder  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("latin-1")
        with recorder.lock:
            recorder.received.append(f"{self.requestline}\n{self.headers}\n{body}")
        answer = recorder.next_answer()
        self.send_response(answer.status)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)


@contextmanager
def recording_server(*answers: Scripted) -> Iterator[Recorder]:
    """A started loopback server answering `answers` in turn (then 404), stopped afterwards."""
    recorder = Recorder(list(answers))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.recorder = recorder  # type: ignore[attr-defined]
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}/"
    # A short poll: shutdown() waits for the serving loop to look, half a second by default.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
