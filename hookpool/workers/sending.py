"""One HTTP attempt: build the request for a hook, send it, and classify the result.

Success is any 2xx. Everything else is a failure of a named kind:

    status           the receiver answered with a non-2xx, non-3xx status
    redirect         the receiver answered 3xx (redirects are never followed)
    connect_timeout  no connection within the connect timeout
    timeout          the receiver stopped sending for longer than the deadline
    deadline         the whole attempt took longer than the deadline
    dns              the host name did not resolve
    tls              the TLS handshake or certificate check failed
    connection       refused, reset, or closed early
    blocked          the destination is inside the operator's network and not
                     allowed (destinations.py); no connection was made
"""

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field

import requests

from .. import __version__, defaults
from ..errors import DestinationRefused
from .backoff import parse_retry_after
from .encoding import encode
from .transport import guard

USER_AGENT = f"hookpool/{__version__}"
SUCCESS = "success"


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
    """Send one request and return its Outcome; never raises for network trouble.

    Whatever session is passed, it connects only to allowed destinations (transport.guard).
    """
    started = time.monotonic()
    guard(session)
    prepared = session.prepare_request(requests.Request(request.method, request.url,
                                                        headers=request.headers, data=request.body))
    # requests re-quotes URLs; the hook's query string must reach the receiver byte-exact.
    prepared.url = request.url
    try:
        outcome = _exchange(session, prepared, started, connect_timeout_s, deadline_s, body_limit)
    except DestinationRefused as exc:
        outcome = Outcome("blocked", reason=str(exc))
    except requests.exceptions.ConnectTimeout as exc:
        outcome = Outcome("connect_timeout", reason=_reason(exc))
    except requests.exceptions.ReadTimeout as exc:
        outcome = Outcome("timeout", reason=_reason(exc))
    except requests.exceptions.SSLError as exc:
        outcome = Outcome("tls", reason=_reason(exc))
    except requests.exceptions.ConnectionError as exc:
        outcome = Outcome("dns" if _is_dns_failure(exc) else "connection", reason=_reason(exc))
    except requests.exceptions.RequestException as exc:
        outcome = Outcome("connection", reason=_reason(exc))
    outcome.elapsed_ms = int((time.monotonic() - started) * 1000)
    return outcome


class _DeadlinePassed(Exception):
    pass


def _exchange(session, prepared, started, connect_timeout_s, deadline_s, body_limit):
    timeout = (min(connect_timeout_s, deadline_s), deadline_s)
    with session.send(prepared, timeout=timeout, stream=True, allow_redirects=False) as response:
        try:
            body = _read_body(response, started + deadline_s, body_limit)
        except _DeadlinePassed:
            return Outcome("deadline", response.status_code, f"response took longer than {deadline_s:g} s")
        return _classify(response, body)


def _read_body(response, deadline, body_limit):
    """Read at most body_limit bytes, giving up at the deadline however slowly bytes trickle in."""
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=4096):
        chunks.append(chunk)
        size += len(chunk)
        if time.monotonic() > deadline:
            raise _DeadlinePassed()
        if size >= body_limit:
            break
    return b"".join(chunks)[:body_limit]


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
