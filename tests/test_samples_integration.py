"""Every Kazoo sample event, delivered as JSON, as form-data and as GET, arrives intact."""

import json
from urllib.parse import parse_qsl

import pytest

from hookpool import accounts, hooks
from hookpool.publishing import publish
from support import Processes, Receiver, bracket_pairs, load_samples

pytestmark = pytest.mark.integration

ACCOUNT_ID = "e" * 32
# The hook URIs' own query string, which must reach the receiver exactly as written:
# escapes in either case, brackets and all.
OWN_QUERY = "token=a%2Fb&x=1&lower=c%2fd&list[]=e"
HOOKS = {
    "json": {"http_verb": "post", "format": "json"},
    "form": {"http_verb": "put", "format": "form-data"},
    "get": {"http_verb": "get", "format": "json"},  # the format does not matter for GET
}


@pytest.fixture(scope="module")
def delivered_samples(_redis_server_process, tmp_path_factory):
    """Publish every sample into one account with three `all` hooks, deliver them all; return (payloads, receiver).

    Module-scoped, so the samples are delivered once for all the checks below.
    """
    server = _redis_server_process
    redis = server.client()
    redis.flushall()  # the suite's own server; each test's redis_server fixture flushes it again anyway
    receiver = Receiver()
    receiver.start()
    processes = Processes(server.url, tmp_path_factory.mktemp("samples"))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HOOKPOOL_ALLOW_NETWORKS", "127.0.0.0/8")
        try:
            yield publish_and_deliver(redis, receiver, processes), receiver
        finally:
            processes.stop_all()
            receiver.stop()
            redis.close()


def publish_and_deliver(redis, receiver, processes):
    accounts.create_account(redis, "samples", account_id=ACCOUNT_ID)
    for name, fields in HOOKS.items():
        hooks.create_hook(redis, ACCOUNT_ID, {
            "name": name, "uri": f"{receiver.url}/{name}?{OWN_QUERY}", "hook": "all", "retries": 0, **fields,
        })

    expected = []
    for event_type, payloads in load_samples().items():
        # The samples name accounts of their own (one not even 32 hex): deliver them into ours.
        publish(redis, payloads, event_type=event_type, account_id=ACCOUNT_ID)
        expected += [{**payload, "account_id": ACCOUNT_ID} for payload in payloads]

    workers = [processes.worker(burst=True) for _ in range(2)]
    assert [worker.wait() for worker in workers] == [0, 0]
    return expected


def canonical(value):
    return json.dumps(value, sort_keys=True)


def test_the_samples_cover_every_event_type():
    assert sorted(load_samples()) == sorted([
        "channel_answer", "channel_bridge", "channel_create", "channel_destroy", "notifications", "object", "parking",
    ])


def test_every_sample_arrives_as_equal_json(delivered_samples):
    expected, receiver = delivered_samples

    received = receiver.requests_to("/json")

    assert {r.method for r in received} == {"POST"}
    assert {r.target for r in received} == {f"/json?{OWN_QUERY}"}
    assert {r.headers["Content-Type"] for r in received} == {"application/json; charset=utf-8"}
    assert sorted(canonical(r.json()) for r in received) == sorted(canonical(p) for p in expected)


def test_every_sample_arrives_as_its_bracketed_form_pairs(delivered_samples):
    expected, receiver = delivered_samples

    received = receiver.requests_to("/form")

    assert {r.method for r in received} == {"PUT"}
    assert {r.target for r in received} == {f"/form?{OWN_QUERY}"}
    assert sorted(r.form_pairs() for r in received) == sorted(bracket_pairs(p) for p in expected)


def test_every_sample_arrives_as_a_query_string_after_the_hooks_own(delivered_samples):
    expected, receiver = delivered_samples

    received = receiver.requests_to("/get")

    assert {r.method for r in received} == {"GET"}
    assert all(r.query.startswith(OWN_QUERY + "&") for r in received)
    assert all(r.body == b"" for r in received)
    pairs = [parse_qsl(r.query.removeprefix(OWN_QUERY + "&"), keep_blank_values=True, strict_parsing=True)
             for r in received]
    assert sorted(pairs) == sorted(bracket_pairs(p) for p in expected)


def test_nothing_is_delivered_twice_or_left_behind(delivered_samples):
    expected, receiver = delivered_samples

    assert len(receiver.requests) == 3 * len(expected)
    assert len({r.headers["X-Delivery-ID"] for r in receiver.requests}) == 3 * len(expected)

