"""One webhook POST to a checked ``Target``: to the addresses that were checked, within one total
deadline, reading a small answer, following no redirect.

urllib3 (already installed with requests) does the HTTP: a connection pool for the URL's host
name, so the Host header, TLS SNI and the certificate check all use that name, whose connections
open a socket to the checked address instead of resolving the name again. urllib3 reads no proxy
settings from the environment and follows no redirect unless told. Its timeouts hold per socket
operation only (a receiver that sends a byte every few seconds would never trip them), so a timer
shuts the connection down at the deadline, whatever it is blocked in.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError

from demixer.api.webhook_targets import Target


class DeliveryFailed(Exception):
    """The receiver could not be reached or did not answer in time; the message says which."""


class Deadline:
    """A delivery's one clock: ``left()`` for each blocking step, and at the end every socket
    it watches is shut down, which wakes a thread blocked reading it."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0 or self.expired:
            raise DeliveryFailed("no answer within the deadline")
        return left

    def watch(self, sock: socket.socket) -> None:
        # a duplicate of our own: shutting it down ends the connection, and it cannot be
        # another connection's descriptor by the time the timer fires
        copy = sock.dup()
        with self._lock:
            self._sockets.append(copy)
            if self.expired:
                _shut(copy)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _Pinned:
    """What both connection classes add: the socket goes to one of the checked addresses."""

    host: str
    port: int
    timeout: Any

    def __init__(self, *args: Any, addresses: tuple[str, ...], deadline: Deadline, **kw: Any):
        self._addresses, self._deadline = addresses, deadline
        super().__init__(*args, **kw)

    def _new_conn(self) -> socket.socket:
        error: OSError | None = None
        for address in self._addresses:
            try:
                sock = socket.create_connection((address, self.port), self._deadline.left())
            except OSError as exc:
                error = exc
                continue
            self._deadline.watch(sock)
            return sock
        raise DeliveryFailed(f"cannot connect to {self.host}: {error}")


class _PinnedHTTPConnection(_Pinned, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_Pinned, HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


def post(
    target: Target, body: bytes, headers: dict[str, str], deadline_s: float, max_answer: int
) -> int:
    """POST ``body``; the answer's status (a 3xx is returned, not followed). The whole exchange
    (connect, TLS, send, status, headers, up to ``max_answer`` bytes of body) ends within
    ``deadline_s``; raises ``DeliveryFailed`` otherwise."""
    deadline = Deadline(deadline_s)
    pool_class = _HTTPSPool if target.scheme == "https" else _HTTPPool
    pool = pool_class(
        target.host,
        target.port,
        maxsize=1,
        retries=False,
        addresses=target.addresses,
        deadline=deadline,
    )
    try:
        left = deadline.left()
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=headers,
            retries=False,
            redirect=False,
            timeout=urllib3.Timeout(connect=left, read=left),
            preload_content=False,
        )
        try:
            response.read(max_answer, decode_content=False)  # the rest is never read
        finally:
            response.close()
        deadline.left()  # an answer cut off by the deadline is no answer
        return response.status
    except (HTTPError, OSError) as exc:
        if deadline.expired:
            raise DeliveryFailed("no answer within the deadline") from exc
        raise DeliveryFailed(str(exc) or type(exc).__name__) from exc
    finally:
        pool.close()
        deadline.close()
