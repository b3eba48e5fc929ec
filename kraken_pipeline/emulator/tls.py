"""HTTPS for the emulator: a server-side TLS context from a PEM certificate chain and key.

Lets the tests prove the client's certificate verification against a server that presents one.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path


def server_context(certfile: str | Path, keyfile: str | Path) -> ssl.SSLContext:
    """A TLS 1.2+ server context presenting the certificate chain in `certfile`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=str(certfile), keyfile=str(keyfile))
    return context


def wrap_listener(listener: socket.socket, context: ssl.SSLContext) -> ssl.SSLSocket:
    """The listening socket, handing out TLS connections that handshake on first use."""
    # The handshake runs in the connection's own thread (server.py): a client that refuses the
    # certificate, or never speaks TLS, cannot hold up the thread that accepts the others.
    return context.wrap_socket(listener, server_side=True, do_handshake_on_connect=False)


def handshake(connection: socket.socket) -> bool:
    """Complete the TLS handshake of an accepted connection; False when the client gave up.

    A plain socket (the emulator serving HTTP) needs none and is always ready.
    """
    if not isinstance(connection, ssl.SSLSocket):
        return True
    try:
        connection.do_handshake()
    except (ssl.SSLError, OSError):
        return False  # e.g. the client refused our certificate: exactly what tests provoke
    return True
