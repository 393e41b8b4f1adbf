"""Answer-URL servers that misbehave exactly: handlers for :func:`support.raw_server`.

Shared by the tests of ``callspec check`` and of the simulated lifecycle, which must
treat each of them alike (a trickle ends at the timeout, a broken redirect is a located
failure).
"""

from __future__ import annotations

import socket
import threading

from support import request_path

GOOD = b'<Response><Speak voice="WOMAN">The deploy failed.</Speak></Response>'


def trickle_body(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    """200 text/xml with a large Content-Length, then one byte every 50 ms until stopped."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 1000000\r\n\r\n"
    conn.sendall(head + b"<Response>")
    while not stop.wait(0.05):
        conn.sendall(b" ")


def trickle_headers(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    """A status line, then one header line every 50 ms until stopped."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n")
    n = 0
    while not stop.wait(0.05) and n < 90:  # http.client allows 100 headers
        conn.sendall(b"X-Slow-%d: 1\r\n" % n)
        n += 1
    stop.wait()


def bad_location(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    """A redirect whose Location is not a URL (an unclosed IPv6 bracket); hangups get 200."""
    if request_path(request).startswith("/hangup"):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        return
    conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: http://[::1/x\r\nContent-Length: 0\r\n\r\n")


def redirect_then_xml(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    """/r redirects to /x with the same query string; /x serves valid XML; the rest 200."""
    path = request_path(request)
    if path.startswith("/r"):
        query = path.split("?", 1)[1] if "?" in path else ""
        conn.sendall(
            f"HTTP/1.1 302 Found\r\nLocation: /x?{query}\r\nContent-Length: 0\r\n\r\n".encode()
        )
        return
    kind = b"text/xml" if path.startswith("/x") else b"text/plain"
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (kind, len(GOOD))
        + GOOD
    )


#: A password-like secret: '|' and '^' are percent-encoded on the wire, '@' is not, so the
#: URL requests sends (and a server echoes back in a redirect) spells it 'a%7Cb@c%5Ed',
#: which none of the redactor's spellings (raw, quote, quote_plus, repr, JSON, HTML) is.
ODD_SECRET = "a|b@c^d"
