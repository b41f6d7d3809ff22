"""Event intake and replay through the API, on fakeredis (the queues are inspected, not worked)."""

import pytest
from rq import Queue

from api_support import Api, field_error
from hookpool import attempts, queues
from hookpool.workers.jobs import enqueue_deliveries

CALL = {"hook_event": "channel_create", "call_id": "abc"}


@pytest.fixture
def api(fake_redis):
    return Api(fake_redis)


def queued_events(redis):
    """The events waiting in fan-out jobs, in publishing order."""
    return [event for job in Queue(queues.EVENTS, connection=redis).get_jobs() for event in job.args[0]]


def test_one_event_is_accepted_with_202_once_its_fan_out_job_is_in_redis(api):
    account_id = api.account()

    answer = api.call("POST", f"/v2/accounts/{account_id}/events", CALL)

    assert answer.status_code == 202 and answer.json["data"]["accepted"] == 1
    [event] = queued_events(api.redis)
    assert (event["account_id"], event["event_type"], event["payload"]["call_id"]) == (account_id, "channel_create", "abc")
    assert answer.json["data"]["event_ids"] == [event["event_id"]]


def test_a_batch_may_hold_events_of_descendant_accounts(api):
    parent = api.account("Reseller")
    child = api.account("Customer", parent_id=parent)

    answer = api.call("POST", f"/v2/accounts/{parent}/events", [CALL, {**CALL, "account_id": child}])

    assert answer.json["data"]["accepted"] == 2
    assert [e["account_id"] for e in queued_events(api.redis)] == [parent, child]


def test_payloads_without_hook_event_take_the_type_from_the_query(api):
    account_id = api.account()

    answer = api.call("POST", f"/v2/accounts/{account_id}/events?event_type=notifications", {"event_name": "x"})

    assert answer.status_code == 202
    assert queued_events(api.redis)[0]["event_type"] == "notifications"


def test_an_event_of_an_account_outside_the_path_refuses_the_whole_batch(api):
    account_id, stranger = api.account(), api.account("Stranger")

    answer = api.call("POST", f"/v2/accounts/{account_id}/events", [CALL, {**CALL, "account_id": stranger}])

    assert field_error(answer)[0] == "[1].account_id"
    assert queued_events(api.redis) == []


@pytest.mark.parametrize("data, field", [
    ([], "data"), ("text", "data"), ({"call_id": "no type"}, "hook_event"),
    ({"hook_event": "channel_explode"}, "hook_event"), ([CALL, 7], "[1].event"),
])
def test_bad_events_answer_400_naming_the_field(api, data, field):
    answer = api.call("POST", f"/v2/accounts/{api.account()}/events", data)

    assert field_error(answer)[0] == field
    assert queued_events(api.redis) == []


def test_an_event_over_the_size_limit_answers_400(api):
    big = {**CALL, "padding": "x" * (1024 * 1024)}

    answer = api.call("POST", f"/v2/accounts/{api.account()}/events", big)

    assert field_error(answer)[0] == "event"


def test_a_body_over_the_size_limit_answers_413(api):
    answer = api.call("POST", f"/v2/accounts/{api.account()}/events", body=b"x" * (9 * 1024 * 1024),
                      content_type="application/json")

    assert (answer.status_code, answer.json["error"]) == (413, "413")


# --- replay --------------------------------------------------------------------------

def log_attempt(redis, hook, delivery_id, result="http_error", retries_left=0, time_ms=1000, payload=None):
    entry = {"time_ms": time_ms, "hook_id": hook["id"], "account_id": hook["account_id"],
             "event_account_id": hook["account_id"], "event": "channel_create", "delivery_id": delivery_id,
             "result": result, "retries_left": retries_left,
             "event_payload": payload if payload is not None else {**CALL, "account_id": hook["account_id"]}}
    with redis.pipeline() as pipe:
        attempts.record(pipe, hook["account_id"], entry)
        pipe.execute()


def test_one_delivery_is_replayed_as_a_new_delivery_of_the_same_event(api):
    account_id = api.account()
    hook = api.hook(account_id)
    log_attempt(api.redis, hook, "d" * 32)

    answer = api.call("POST", f"/v2/accounts/{account_id}/replays", {"delivery_id": "d" * 32})

    [replayed] = answer.json["data"]["replayed"]
    assert answer.status_code == 202 and replayed["delivery_id"] == "d" * 32 and replayed["replay_id"] != "d" * 32
    [job] = Queue(queues.DELIVERIES, connection=api.redis).get_jobs()
    assert job.id == replayed["replay_id"]
    assert job.args[0]["hook_id"] == hook["id"] and job.args[0]["event"]["payload"]["call_id"] == "abc"


def test_replaying_an_unknown_delivery_answers_404_and_a_malformed_one_400(api):
    account_id = api.account()

    unknown = api.call("POST", f"/v2/accounts/{account_id}/replays", {"delivery_id": "e" * 32})
    malformed = api.call("POST", f"/v2/accounts/{account_id}/replays", {"delivery_id": "e"})

    assert unknown.status_code == 404
    assert field_error(malformed)[0] == "delivery_id"


def test_a_delivery_whose_event_was_not_kept_cannot_be_replayed(api):
    account_id = api.account()
    hook = api.hook(account_id)
    log_attempt(api.redis, hook, "d" * 32)
    api.redis.delete(f"hookpool:account:{account_id}:attempts")
    entry_without_event = {"hook_id": hook["id"], "delivery_id": "d" * 32, "result": "timeout", "event_payload": None}
    with api.redis.pipeline() as pipe:
        attempts.record(pipe, account_id, entry_without_event)
        pipe.execute()

    answer = api.call("POST", f"/v2/accounts/{account_id}/replays", {"delivery_id": "d" * 32})

    assert field_error(answer)[0] == "delivery_id"
    assert "was not kept" in answer.json["data"]["delivery_id"]["replayable"]["message"]


def test_failed_deliveries_since_a_time_are_replayed_but_not_recovered_or_pending_or_older_ones(api):
    account_id = api.account()
    hook = api.hook(account_id)
    _log_long_ago(api.redis, hook, "3" * 32)                                   # too old
    log_attempt(api.redis, hook, "1" * 32, time_ms=5000)                      # failed, no retries left
    log_attempt(api.redis, hook, "2" * 32, time_ms=5000, retries_left=1)      # failed, then succeeded
    log_attempt(api.redis, hook, "2" * 32, result="success", time_ms=6000)
    [pending_id] = enqueue_deliveries(api.redis, _event(account_id), [_hook_object(api, hook)])
    log_attempt(api.redis, hook, pending_id, retries_left=2, time_ms=5000)    # still being retried
    log_attempt(api.redis, hook, "4" * 32, time_ms=5000, retries_left=2)      # skipped after a disable: job gone

    answer = api.call("POST", f"/v2/accounts/{account_id}/replays", {"since_ms": LONG_AGO_MS + 1})

    assert sorted(r["delivery_id"] for r in answer.json["data"]["replayed"]) == ["1" * 32, "4" * 32]


def test_replay_of_one_hook_skips_other_hooks_and_reports_a_disabled_hook(api):
    account_id = api.account()
    wanted, other = api.hook(account_id), api.hook(account_id, name="other")
    log_attempt(api.redis, wanted, "1" * 32)
    log_attempt(api.redis, other, "2" * 32)
    api.call("PATCH", f"/v2/accounts/{account_id}/webhooks/{other['id']}", {"enabled": False})

    one_hook = api.call("POST", f"/v2/accounts/{account_id}/replays", {"since_ms": 0, "hook_id": wanted["id"]})
    everything = api.call("POST", f"/v2/accounts/{account_id}/replays", {"since_ms": 0})

    assert [r["delivery_id"] for r in one_hook.json["data"]["replayed"]] == ["1" * 32]
    assert [s["delivery_id"] for s in everything.json["data"]["skipped"]] == ["2" * 32]
    assert "disabled" in everything.json["data"]["skipped"][0]["reason"]


@pytest.mark.parametrize("data, field", [({}, "since_ms"), ({"since_ms": -5}, "since_ms"),
                                         ({"since_ms": "yesterday"}, "since_ms"), ({"when": 1}, "field")])
def test_bad_replay_requests_answer_400(api, data, field):
    assert field_error(api.call("POST", f"/v2/accounts/{api.account()}/replays", data))[0] == field


LONG_AGO_MS = 1_000_000


def _log_long_ago(redis, hook, delivery_id):
    """An entry whose stream id (the time the log goes by) is far in the past."""
    import json
    entry = {"hook_id": hook["id"], "delivery_id": delivery_id, "result": "timeout", "retries_left": 0,
             "event_account_id": hook["account_id"], "event": "channel_create", "event_payload": CALL}
    redis.xadd(f"hookpool:account:{hook['account_id']}:attempts", {"doc": json.dumps(entry)}, id=f"{LONG_AGO_MS}-0")


def _event(account_id):
    from hookpool.events import Event
    return Event(account_id, "channel_create", {**CALL, "account_id": account_id})


def _hook_object(api, hook):
    from hookpool import hooks
    return hooks.get_hook(api.redis, hook["id"])
