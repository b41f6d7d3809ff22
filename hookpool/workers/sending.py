"""One HTTP attempt: build the request for a hook, send it, and classify the result.

Success is any 2xx. Everything else is a failure of a named kind:

    status           the receiver answered with a non-2xx, non-3xx status
    redirect         the receiver answered 3xx (redirects are never followed)
    connect_timeout  no connection within the connect timeout
    timeout          no complete status line and headers within the deadline:
                     the receiver was silent, or trickled them
    deadline         the status and headers came, but the body was not
                     complete within the deadline
    dns              the host name did not resolve
    tls              the TLS handshake or certificate check failed
    connection       refused, reset, or closed early
    blocked          the destination is inside the operator's network and not
                     allowed (destinations.py); no connection was made

The deadline is a hard bound on the whole attempt. Socket timeouts alone do not
give one: they limit each wait for the next bytes, so a receiver that sends one
byte a second (in its status line, its headers or its body) never trips them.
A watchdog thread therefore shuts the attempt's socket down when the deadline
passes, wherever the exchange is stuck, and the attempt is judged by the phase
it was cut in.

Known shortcoming: resolving the host name happens before there is a socket to
cut, so a resolver that hangs is bounded only by the system resolver's own
timeouts (resolv.conf); resolving in a worker thread with a timeout would fix it.
"""

import base64
import functools
import hashlib
import hmac
import os
import socket
import threading
import time
from dataclasses import dataclass, field

import requests

from .. import __version__, defaults
from ..errors import DestinationRefused
from .backoff import parse_retry_after
from .encoding import encode
from .transport import CheckedAdapter, guard

USER_AGENT = f"hookpool/{__version__}"
SUCCESS = "success"
# Once the deadline has passed, how often the watchdog looks for a socket that
# appeared after it fired (a connection that was still being opened).
_CUT_POLL_S = 0.05
# The socket read timeout is set this much past the deadline, so that the
# watchdog, and not a read timeout racing it, decides how a late attempt ends.
_READ_TIMEOUT_MARGIN_S = 1.0


@dataclass
class OutgoingRequest:
    method: str
    url: str
    headers: dict
    body: bytes | None


@dataclass
class Outcome:
    """What one attempt came to."""

    kind: str  # SUCCESS, or one of the failure kinds above
    status: int | None = None
    reason: str = ""
    elapsed_ms: int = 0
    retry_after_s: int | None = None
    response_headers: dict = field(default_factory=dict)
    response_body: bytes = b""

    @property
    def ok(self):
        return self.kind == SUCCESS


def build_request(hook, payload, delivery_id, attempt, now_s=None):
    """The request one attempt of one delivery sends to hook."""
    url, body, content_type = encode(hook.http_verb, hook.format, hook.uri, payload)
    headers = {
        "User-Agent": USER_AGENT,
        "X-Hook-ID": hook.id,
        "X-Account-ID": hook.account_id,
        "X-Delivery-ID": delivery_id,
        "X-Delivery-Attempt": str(attempt),
    }
    if content_type:
        headers["Content-Type"] = content_type
    if hook.secret:
        headers.update(signature_headers(hook.secret, delivery_id, body or b"", now_s))
    return OutgoingRequest(hook.http_verb.upper(), url, headers, body)


def signature_headers(secret, message_id, body, now_s=None):
    """Standard Webhooks headers: HMAC-SHA256 over "id.timestamp.body" with the decoded secret."""
    timestamp = str(int(time.time() if now_s is None else now_s))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = b".".join([message_id.encode(), timestamp.encode(), body])
    digest = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {"webhook-id": message_id, "webhook-timestamp": timestamp, "webhook-signature": f"v1,{digest}"}


def send(session, request, connect_timeout_s=defaults.CONNECT_TIMEOUT_S,
         deadline_s=defaults.DELIVERY_DEADLINE_S, body_limit=defaults.RESPONSE_BODY_MAX_BYTES):
    """Send one request and return its Outcome by the deadline; never raises for network trouble.

    Whatever session is passed, it connects only to allowed destinations (transport.guard).
    """
    started = time.monotonic()
    guard(_watched(session))

    with Watchdog(deadline_s) as watchdog:
        try:
            outcome = _exchange(session, request, watchdog, connect_timeout_s, deadline_s, body_limit)
        except DestinationRefused as exc:
            outcome = Outcome("blocked", reason=str(exc))
        except requests.exceptions.RequestException as exc:
            outcome = _network_failure(exc)

    outcome.elapsed_ms = int((time.monotonic() - started) * 1000)
    return outcome


def _exchange(session, request, watchdog, connect_timeout_s, deadline_s, body_limit):
    prepared = session.prepare_request(requests.Request(request.method, request.url,
                                                        headers=request.headers, data=request.body))
    # requests re-quotes URLs; the hook's query string must reach the receiver byte-exact.
    prepared.url = request.url
    timeout = (min(connect_timeout_s, deadline_s), deadline_s + _READ_TIMEOUT_MARGIN_S)

    response = _receive_headers(session, prepared, timeout, watchdog)
    if response is None:
        return Outcome("timeout", reason=f"no status line and headers within the {deadline_s:g} s deadline")

    with response:
        body = _receive_body(response, body_limit, watchdog)
    if body is None:
        return Outcome("deadline", response.status_code,
                       f"HTTP {response.status_code}, but the body took longer than the {deadline_s:g} s deadline")
    return _classify(response, body)


# Once the watchdog has fired, whatever was read is suspect even without an error:
# a cut in the middle of the headers reads as their end, and a body without a
# length ends where the connection does. So each phase asks the watchdog, and
# returns None when the deadline passed during it.

def _receive_headers(session, prepared, timeout, watchdog):
    try:
        response = session.send(prepared, timeout=timeout, stream=True, allow_redirects=False)
    except Exception:
        if watchdog.fired:
            return None
        raise
    if watchdog.fired:
        response.close()
        return None
    return response


def _receive_body(response, body_limit, watchdog):
    """At most body_limit bytes of the body; the rest is never read (the connection is then closed)."""
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(chunk_size=4096):
            chunks.append(chunk)
            size += len(chunk)
            if size >= body_limit:
                break
    except Exception:
        if not watchdog.fired:
            raise
    if watchdog.fired:
        return None
    return b"".join(chunks)[:body_limit]


def _network_failure(exc):
    """The Outcome of a requests exception raised before the deadline."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Outcome("connect_timeout", reason=_reason(exc))
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return Outcome("timeout", reason=_reason(exc))
    if isinstance(exc, requests.exceptions.SSLError):
        return Outcome("tls", reason=_reason(exc))
    if isinstance(exc, requests.exceptions.ConnectionError) and _is_dns_failure(exc):
        return Outcome("dns", reason=_reason(exc))
    # Refused, reset, closed early, a malformed answer, or a URL requests cannot use.
    return Outcome("connection", reason=_reason(exc))


def _classify(response, body):
    status = response.status_code
    headers = dict(response.headers)
    if 200 <= status < 300:
        return Outcome(SUCCESS, status, "", response_headers=headers, response_body=body)
    if 300 <= status < 400:
        reason = f"HTTP {status} redirect to {response.headers.get('Location', '?')} (not followed)"
        return Outcome("redirect", status, reason, response_headers=headers, response_body=body)
    return Outcome("status", status, f"HTTP {status}", response_headers=headers, response_body=body,
                   retry_after_s=parse_retry_after(response.headers.get("Retry-After")))


def _is_dns_failure(exc):
    text = repr(exc)
    return "NameResolutionError" in text or "Name or service not known" in text or "getaddrinfo" in text


def _reason(exc):
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "..."


# --- the hard deadline ------------------------------------------------------------

# The Watchdog of the attempt running on this thread, so that connection pools can hand it their sockets.
_current = threading.local()


class Watchdog:
    """Shuts down the sockets of one attempt once its deadline has passed.

    Used as a context manager around the attempt, on the attempt's own thread.
    Connections are registered as the attempt takes them from the pool (see
    _WatchedPool); after the deadline the watchdog keeps cutting any socket that
    appears until the attempt ends, which covers a connection still being
    opened when it fired. One thread per process watches every attempt's
    deadline (_DeadlineWatcher): starting a thread per attempt cost about a
    millisecond, a third of a whole delivery to a fast receiver.
    """

    def __init__(self, deadline_s):
        self.deadline_s = deadline_s
        self.fired = False
        self.deadline = None
        self._connections = []
        self._watcher = None

    def __enter__(self):
        _current.watchdog = self
        self.deadline = time.monotonic() + self.deadline_s
        self._watcher = _deadline_watcher()
        self._watcher.watch(self)
        return self

    def __exit__(self, *exc_info):
        _current.watchdog = None
        # Once forgotten, the watcher never cuts this attempt's connections, which go back to the pool.
        self._watcher.forget(self)

    def register(self, connection):
        self._connections.append(connection)

    def _cut(self):
        for connection in list(self._connections):
            sock = getattr(connection, "sock", None)
            if sock is None:
                continue
            try:
                # socket.socket's own shutdown, not SSLSocket's, which would also drop the TLS
                # state that the attempt's thread is still reading through.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass  # already closed: nothing left to cut


# When nothing is due sooner, the watcher wakes this often anyway, so that an attempt whose
# deadline is further away than that need not wake it when it starts.
_WATCHER_IDLE_WAKE_S = 1.0


class _DeadlineWatcher:
    """A daemon thread firing the Watchdogs whose deadline passed, then cutting their sockets until they end."""

    def __init__(self):
        self._condition = threading.Condition()
        self._watched = set()
        self._wake_at = 0.0
        threading.Thread(target=self._run, name="hookpool-deadlines", daemon=True).start()

    def watch(self, watchdog):
        with self._condition:
            self._watched.add(watchdog)
            if watchdog.deadline < self._wake_at:
                self._condition.notify()

    def forget(self, watchdog):
        with self._condition:
            self._watched.discard(watchdog)

    def _run(self):
        with self._condition:
            while True:
                now = time.monotonic()
                for watchdog in self._watched:
                    if watchdog.deadline <= now:
                        watchdog.fired = True
                        watchdog._cut()
                self._wake_at = self._next_wake(now)
                self._condition.wait(max(0.0, self._wake_at - time.monotonic()))

    def _next_wake(self, now):
        wake = now + _WATCHER_IDLE_WAKE_S
        for watchdog in self._watched:
            wake = min(wake, now + _CUT_POLL_S if watchdog.fired else watchdog.deadline)
        return wake


_watcher = None
_watcher_lock = threading.Lock()


def _deadline_watcher():
    """This process's watcher, started on first use."""
    global _watcher
    with _watcher_lock:
        if _watcher is None:
            _watcher = _DeadlineWatcher()
        return _watcher


def _forget_parents_watcher():
    # A forked child has none of its parent's threads (and maybe a lock held by one of them).
    global _watcher, _watcher_lock
    _watcher = None
    _watcher_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_parents_watcher)


class _WatchedPool:
    """Mixed into the guarded pools: hands each connection an attempt takes to its Watchdog."""

    def _get_conn(self, timeout=None):
        connection = super()._get_conn(timeout=timeout)
        watchdog = getattr(_current, "watchdog", None)
        if watchdog is not None:
            watchdog.register(connection)
        return connection


@functools.cache
def _watched_pool_class(pool_class):
    return type(f"Watched{pool_class.__name__}", (_WatchedPool, pool_class), {})


class WatchedAdapter(CheckedAdapter):
    """The guarded adapter, with pools whose connections the attempt's Watchdog can cut."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        by_scheme = self.poolmanager.pool_classes_by_scheme
        self.poolmanager.pool_classes_by_scheme = {
            scheme: _watched_pool_class(pool_class) for scheme, pool_class in by_scheme.items()
        }


def _watched(session):
    """Mount WatchedAdapter on session for http and https, unless it already is; returns session."""
    for prefix in ("http://", "https://"):
        if not isinstance(session.adapters.get(prefix), WatchedAdapter):
            session.mount(prefix, WatchedAdapter())
    return session
