"""One HTTP attempt against a real receiver: the request sent, and how its outcome is judged."""

import base64
import hashlib
import hmac

import pytest
import requests

from hookpool import __version__
from hookpool.hooks import Hook, new_secret
from hookpool.workers.sending import build_request, send
from support import free_port

HOOK_ID = "5" * 32
ACCOUNT_ID = "6" * 32
DELIVERY_ID = "7" * 32


def hook_for(receiver, path="/hook", **fields):
    return Hook(id=HOOK_ID, account_id=ACCOUNT_ID, name="h", uri=f"{receiver.url}{path}", hook="all", **fields)


def attempt(hook, payload=None, attempt_number=1, **options):
    request = build_request(hook, payload or {"call_id": "c1"}, DELIVERY_ID, attempt_number)
    return send(requests.Session(), request, **options)


def test_a_delivery_carries_hook_account_delivery_and_attempt_headers(receiver):
    outcome = attempt(hook_for(receiver), attempt_number=3)

    headers = receiver.requests[0].headers
    assert outcome.ok and outcome.status == 200
    assert headers["X-Hook-ID"] == HOOK_ID
    assert headers["X-Account-ID"] == ACCOUNT_ID
    assert headers["X-Delivery-ID"] == DELIVERY_ID
    assert headers["X-Delivery-Attempt"] == "3"
    assert headers["User-Agent"] == f"hookpool/{__version__}"


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_any_2xx_is_a_success(receiver, status):
    receiver.answer([status])

    assert attempt(hook_for(receiver)).ok


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_a_failure_and_is_not_followed(receiver, status):
    receiver.answer([status])

    outcome = attempt(hook_for(receiver))

    assert (outcome.kind, outcome.status) == ("redirect", status)
    assert [r.path for r in receiver.requests] == ["/hook"]


@pytest.mark.parametrize("status", [400, 404, 429, 500, 503])
def test_any_other_status_is_a_failure(receiver, status):
    receiver.answer([status])

    outcome = attempt(hook_for(receiver))

    assert (outcome.ok, outcome.kind, outcome.status) == (False, "status", status)


def test_a_refused_connection_is_a_connection_failure(receiver):
    hook = hook_for(receiver)
    hook.uri = f"http://127.0.0.1:{free_port()}/nobody-listens"

    outcome = attempt(hook)

    assert (outcome.ok, outcome.kind) == (False, "connection")


def test_a_receiver_slower_than_the_deadline_is_a_timeout(receiver):
    receiver.delay_s = 1.0

    outcome = attempt(hook_for(receiver), deadline_s=0.3)

    assert outcome.kind in ("timeout", "deadline")
    assert not outcome.ok


def test_a_json_hook_posts_utf8_json_declared_as_such(receiver):
    payload = {"caller_id_name": "Zoë", "n": [1, 2]}

    attempt(hook_for(receiver, http_verb="post", format="json"), payload)

    received = receiver.requests[0]
    assert received.method == "POST"
    assert received.headers["Content-Type"] == "application/json; charset=utf-8"
    assert received.json() == payload


def test_a_form_hook_puts_bracketed_form_data(receiver):
    attempt(hook_for(receiver, http_verb="put"), {"a": {"b": "c"}, "l": ["x", "y"]})

    received = receiver.requests[0]
    assert received.method == "PUT"
    assert received.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert received.form_pairs() == [("a[b]", "c"), ("l[]", "x"), ("l[]", "y")]


@pytest.mark.parametrize("own_query", [
    "token=a%2Fb&x=1",
    "sig=AbC%3D%3D&empty=&flag",
    "q=x+y%20z&path=/a/b?c:d@e",
    "token=a%2fb",  # lower-case escapes, which urllib3 would upper-case
    "filter[type]=user&list[]=1",  # brackets, which urllib3 would escape
    "a=b|c&d={e}",
])
def test_a_get_hook_keeps_its_own_query_string_byte_exact(receiver, own_query):
    attempt(hook_for(receiver, f"/get?{own_query}", http_verb="get"), {"call_id": "c 1"})

    received = receiver.requests[0]
    assert received.method == "GET"
    assert received.query == f"{own_query}&call_id=c+1"
    assert received.body == b""


@pytest.mark.parametrize("verb", ["post", "put"])
def test_a_post_or_put_hook_keeps_its_own_query_string_byte_exact(receiver, verb):
    attempt(hook_for(receiver, "/body?token=a%2fb&filter[x]=1", http_verb=verb), {"call_id": "c1"})

    assert receiver.requests[0].target == "/body?token=a%2fb&filter[x]=1"


def test_a_signed_hook_sends_a_standard_webhooks_signature_over_the_exact_body(receiver):
    secret = new_secret()

    attempt(hook_for(receiver, format="json", secret=secret), {"call_id": "c1"})

    received = receiver.requests[0]
    message_id = received.headers["webhook-id"]
    timestamp = received.headers["webhook-timestamp"]
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + received.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert message_id == DELIVERY_ID
    assert received.headers["webhook-signature"].split(" ") == [f"v1,{expected}"]


def test_an_unsigned_hook_sends_no_signature_headers(receiver):
    attempt(hook_for(receiver))

    assert "webhook-signature" not in receiver.requests[0].headers

