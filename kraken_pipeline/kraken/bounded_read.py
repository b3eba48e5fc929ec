"""Reading an answer's body within a wall-clock bound, however slowly it trickles in.

requests' read timeout applies to each socket read and restarts with every byte, so a body sent
one byte a second never times out. Here the clock is looked at after every read, and the socket
timeout is shortened to what is left of the bound, so no single read outlasts it.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError
from urllib3.exceptions import SSLError as Urllib3SSLError

# A page of measurements is about 2 MB: read in large chunks, not requests' default 10 kB, which
# costs a millisecond or two of Python per answer while other workers want the interpreter.
# read1 returns what has arrived, so a large chunk never waits for more.
READ_CHUNK_BYTES = 1 << 20


class BodyTooSlowError(Exception):
    """The answer had not fully arrived when the request's wall-clock bound passed."""


def read_within(response: requests.Response, ends: float) -> bytes:
    """The whole body, or BodyTooSlowError once `ends` (time.monotonic) passes.

    Reads whatever has arrived (read1), so the clock is looked at after every network read, and
    shortens the socket timeout to what is left, so no single read outlasts the bound.
    """
    raw = response.raw
    read = getattr(raw, "read1", None) or raw.read
    parts: list[bytes] = []
    while True:
        left = ends - time.monotonic()
        if left <= 0:
            raise BodyTooSlowError
        _limit_socket_timeout(raw, left)
        try:
            chunk = read(READ_CHUNK_BYTES, decode_content=True)
        except (TimeoutError, ReadTimeoutError):
            raise BodyTooSlowError from None
        except ProtocolError as exc:  # as requests' iter_content would say
            raise requests.exceptions.ChunkedEncodingError(exc) from None
        except DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from None
        except Urllib3SSLError as exc:
            raise requests.exceptions.SSLError(exc) from None
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)


def _limit_socket_timeout(raw: Any, seconds: float) -> None:
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if isinstance(sock, socket.socket):
        current = sock.gettimeout()
        if current is None or current > seconds:
            sock.settimeout(max(seconds, 0.001))
