"""Signed hooks are signed per Standard Webhooks: the spec's own library verifies what we send,
and the secret never shows once the hook is made."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from standardwebhooks import Webhook, WebhookVerificationError

from hookpool import accounts, hooks
from hookpool.ids import new_id
from hookpool.workers.sending import build_request, send

PAYLOAD = {"hook_event": "channel_create", "call_id": "abc@10.0.0.1", "nested": {"list": [1, "two"]},
           "text": "caf\u00e9"}


def _signed_hook(verb="post", data_format="json", secret=None):
    return hooks.Hook(id=new_id(), account_id=new_id(), name="signed", uri="https://receiver.example/hook?x=1",
                      hook="all", http_verb=verb, format=data_format, secret=secret or hooks.new_secret())


@pytest.mark.parametrize("verb, data_format", [("post", "json"), ("put", "json"), ("post", "form-data"),
                                               ("put", "form-data"), ("get", "form-data")])
def test_signed_request_verifies_with_the_standard_webhooks_library(verb, data_format):
    hook = _signed_hook(verb, data_format)

    request = build_request(hook, PAYLOAD, new_id(), attempt=1)
    body = request.body or b""

    Webhook(hook.secret).verify(body, request.headers, json_parse=False)
    if data_format == "json" and verb != "get":
        assert Webhook(hook.secret).verify(body, request.headers) == PAYLOAD


def test_get_request_is_signed_over_an_empty_body():
    hook = _signed_hook("get")

    request = build_request(hook, PAYLOAD, new_id(), attempt=1)

    assert request.body is None
    Webhook(hook.secret).verify(b"", request.headers, json_parse=False)


@pytest.mark.parametrize("data_format", ["json", "form-data"])
def test_tampered_body_fails_verification(data_format):
    hook = _signed_hook("post", data_format)
    request = build_request(hook, PAYLOAD, new_id(), attempt=1)

    with pytest.raises(WebhookVerificationError):
        Webhook(hook.secret).verify(request.body.replace(b"abc", b"abd"), request.headers, json_parse=False)


def test_request_signed_with_another_secret_fails_verification():
    request = build_request(_signed_hook(), PAYLOAD, new_id(), attempt=1)

    with pytest.raises(WebhookVerificationError):
        Webhook(hooks.new_secret()).verify(request.body, request.headers, json_parse=False)


def test_signature_id_is_the_delivery_id_so_retries_share_it():
    hook = _signed_hook()
    delivery_id = new_id()

    first = build_request(hook, PAYLOAD, delivery_id, attempt=1)
    retry = build_request(hook, PAYLOAD, delivery_id, attempt=2)

    assert first.headers["webhook-id"] == retry.headers["webhook-id"] == delivery_id


def test_unsigned_hook_sends_no_signature_headers():
    hook = _signed_hook()
    hook.secret = ""

    request = build_request(hook, PAYLOAD, new_id(), attempt=1)

    assert not {"webhook-id", "webhook-timestamp", "webhook-signature"} & set(request.headers)


def test_what_the_receiver_gets_over_the_wire_verifies(monkeypatch):
    monkeypatch.setenv("HOOKPOOL_ALLOW_NETWORKS", "127.0.0.0/8")
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.rfile.read(int(self.headers["Content-Length"])), dict(self.headers)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = _signed_hook("post", "form-data")
    hook.uri = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        outcome = send(requests.Session(), build_request(hook, PAYLOAD, new_id(), attempt=1))
    finally:
        server.shutdown()
        server.server_close()

    assert outcome.kind == "success"
    body, headers = received[0]
    Webhook(hook.secret).verify(body, headers, json_parse=False)


def test_hook_dict_never_contains_the_secret(fake_redis):
    account = accounts.create_account(fake_redis, "tenant")
    secret = hooks.new_secret()
    hook = hooks.create_hook(fake_redis, account.id, {"name": "n", "uri": "https://receiver.example/h", "hook": "all"},
                             secret=secret)

    shown = hooks.get_hook(fake_redis, hook.id).to_dict()

    assert "secret" not in shown
    assert shown["signed"] is True
    assert secret not in json.dumps(shown)
    assert secret.removeprefix("whsec_") not in json.dumps(shown)


def test_new_secret_is_accepted_by_check_secret_and_by_the_library():
    secret = hooks.new_secret()

    assert hooks.check_secret(secret) == secret
    Webhook(secret)
