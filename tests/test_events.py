"""Events: what a published payload must carry, and publishing as all or nothing."""

import json
from pathlib import Path

import pytest
from rq import Queue

from hookpool import accounts, defaults, queues
from hookpool.errors import ValidationError
from hookpool.events import make_event, parse_event_text
from hookpool.publishing import publish

SAMPLES = Path(__file__).resolve().parent.parent / "examples" / "kazoo-samples"
ACCOUNT_ID = "91eb05e5c68d7ca05e7618b6821d2d16"
CALL = {"account_id": ACCOUNT_ID, "hook_event": "channel_create", "call_id": "abc"}


def test_an_event_takes_its_type_from_hook_event():
    event = make_event(CALL)

    assert (event.account_id, event.event_type, event.payload) == (ACCOUNT_ID, "channel_create", CALL)


def test_an_upper_case_event_name_is_accepted_as_kazoo_sends_it():
    assert make_event({**CALL, "hook_event": "CHANNEL_CREATE"}).event_type == "channel_create"


def test_a_payload_without_hook_event_takes_the_type_the_publisher_names():
    event = make_event({"account_id": ACCOUNT_ID, "event_name": "voicemail_new"}, event_type="notifications")

    assert event.event_type == "notifications"


def test_an_account_id_override_replaces_the_payloads_own():
    other = "0" * 32

    event = make_event({"account_id": "account0000000000000000000000003"}, "notifications", account_id=other)

    assert event.account_id == other
    assert event.payload["account_id"] == other


def test_an_upper_case_account_id_is_read_as_lower_case():
    assert make_event({**CALL, "account_id": ACCOUNT_ID.upper()}).account_id == ACCOUNT_ID


def test_the_payload_is_not_modified_by_validation():
    payload = {"account_id": "a" * 32, "event_name": "x"}

    make_event(payload, "notifications", account_id="b" * 32)

    assert payload == {"account_id": "a" * 32, "event_name": "x"}


@pytest.mark.parametrize(("payload", "event_type", "field"), [
    ({"hook_event": "channel_create"}, None, "account_id"),
    ({**CALL, "account_id": "not-an-account"}, None, "account_id"),
    ({**CALL, "account_id": None}, None, "account_id"),
    ({"account_id": ACCOUNT_ID}, None, "hook_event"),
    ({**CALL, "hook_event": "channel_exploded"}, None, "hook_event"),
    ({**CALL, "hook_event": "all"}, None, "hook_event"),
    ({**CALL, "hook_event": 7}, None, "hook_event"),
    (CALL, "channel_destroy", "hook_event"),
    ({"account_id": ACCOUNT_ID}, "all", "event type"),
    ({"account_id": ACCOUNT_ID}, "nonsense", "event type"),
    (["not", "an", "object"], None, "event"),
    ("a string", None, "event"),
])
def test_a_bad_event_is_refused_naming_what_is_wrong(payload, event_type, field):
    with pytest.raises(ValidationError) as refused:
        make_event(payload, event_type)

    assert refused.value.field == field


def test_an_event_nested_too_deeply_is_refused():
    payload = dict(CALL)
    innermost = payload
    for _ in range(defaults.MAX_EVENT_DEPTH + 1):
        innermost["inner"] = {}
        innermost = innermost["inner"]

    with pytest.raises(ValidationError) as refused:
        make_event(payload)

    assert refused.value.field == "event"
    assert "deeper" in str(refused.value)


def test_event_text_may_hold_one_object_or_an_array_of_them():
    one = parse_event_text(json.dumps(CALL))
    many = parse_event_text(json.dumps([CALL, {**CALL, "hook_event": "channel_answer"}]))

    assert [e.event_type for e in one] == ["channel_create"]
    assert [e.event_type for e in many] == ["channel_create", "channel_answer"]


@pytest.mark.parametrize("text", ["{not json", "", "[1, 2", '{"account_id": '])
def test_event_text_that_is_not_json_is_refused(text):
    with pytest.raises(ValidationError) as refused:
        parse_event_text(text)

    assert refused.value.field == "event"
    assert "not valid JSON" in str(refused.value)


def test_event_text_larger_than_the_limit_is_refused_before_parsing():
    text = json.dumps({**CALL, "padding": "x" * defaults.MAX_EVENT_BYTES})

    with pytest.raises(ValidationError) as refused:
        parse_event_text(text)

    assert "larger than" in str(refused.value)


def test_one_bad_event_in_an_array_refuses_the_whole_text():
    text = json.dumps([CALL, {"account_id": ACCOUNT_ID}])

    with pytest.raises(ValidationError):
        parse_event_text(text)


def events_queued(redis):
    return Queue(queues.EVENTS, connection=redis).count


def fan_out_jobs(redis):
    return Queue(queues.EVENTS, connection=redis).jobs


def test_events_published_together_share_a_fan_out_job_named_by_the_first_event(fake_redis):
    accounts.create_account(fake_redis, "tenant", account_id=ACCOUNT_ID)
    answer = {**CALL, "hook_event": "channel_answer"}

    event_ids = publish(fake_redis, [CALL, answer])

    [job] = fan_out_jobs(fake_redis)
    assert len(set(event_ids)) == 2
    assert job.id == event_ids[0]
    assert [(e["event_id"], e["event_type"], e["payload"]) for e in job.args[0]] == [
        (event_ids[0], "channel_create", CALL), (event_ids[1], "channel_answer", answer)]
    assert job.result_ttl == 0 and job.timeout == defaults.FANOUT_JOB_TIMEOUT_S


def test_an_event_published_alone_is_its_fan_out_jobs_id(fake_redis):
    accounts.create_account(fake_redis, "tenant", account_id=ACCOUNT_ID)

    [event_id] = publish(fake_redis, [CALL])

    assert [job.id for job in fan_out_jobs(fake_redis)] == [event_id]
    assert fake_redis.llen("rq:queue:hookpool-events") == 1


def test_a_fan_out_job_holds_at_most_the_batch_count_of_events_in_publishing_order(fake_redis, monkeypatch):
    monkeypatch.setattr(defaults, "FAN_OUT_BATCH_EVENTS", 3)
    accounts.create_account(fake_redis, "tenant", account_id=ACCOUNT_ID)

    event_ids = publish(fake_redis, [{**CALL, "call_id": str(n)} for n in range(7)])

    batches = [[e["event_id"] for e in job.args[0]] for job in fan_out_jobs(fake_redis)]
    assert batches == [event_ids[0:3], event_ids[3:6], event_ids[6:7]]
    assert [[e["payload"]["call_id"] for e in job.args[0]] for job in fan_out_jobs(fake_redis)] == [
        ["0", "1", "2"], ["3", "4", "5"], ["6"]]


def test_a_fan_out_job_holds_about_the_batch_bytes_of_payload_and_a_larger_event_travels_alone(
        fake_redis, monkeypatch):
    monkeypatch.setattr(defaults, "FAN_OUT_BATCH_BYTES", 1000)
    accounts.create_account(fake_redis, "tenant", account_id=ACCOUNT_ID)
    small = [{**CALL, "call_id": str(n), "note": "x" * 300} for n in range(4)]
    large = {**CALL, "call_id": "large", "note": "y" * 5000}

    publish(fake_redis, small[:2] + [large] + small[2:])

    assert [[e["payload"]["call_id"] for e in job.args[0]] for job in fan_out_jobs(fake_redis)] == [
        ["0", "1"], ["large"], ["2", "3"]]


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.json")), ids=lambda path: path.stem)
def test_publishing_batches_by_each_events_size_as_compact_json(sample):
    for payload in json.loads(sample.read_text()):
        event = make_event(payload, event_type=sample.stem, account_id=ACCOUNT_ID)

        assert event.size_bytes == len(json.dumps(event.payload, separators=(",", ":"))), payload


def test_large_numbers_and_escaped_characters_count_at_their_size_as_json():
    event = make_event({**CALL, "numbers": [int("9" * 4000)] * 3, "controls": "\x00" * 1000})

    assert event.size_bytes > 3 * 4000 + 6 * 1000


@pytest.mark.parametrize("extra", [{}, {"subclassed": type("Text", (str,), {})("s")}], ids=["plain", "with a str subclass"])
def test_a_number_too_long_to_write_as_json_is_refused_when_published(extra):
    with pytest.raises(ValidationError) as refused:
        make_event({**CALL, "n": 10 ** 5000, **extra})

    assert refused.value.field == "event"
    assert "cannot be written as JSON" in refused.value.rule and "4300 digits" in refused.value.rule


@pytest.mark.parametrize("payload", [
    {**CALL, "nested": {"list": [1, 2.5, None, True, "text", {"deep": []}]}},
    {**CALL, "text": "caf\u00e9 \u6771\u4eac \U0001f600"},
    {**CALL, "subclassed": type("Text", (str,), {})("still a string")},
    {**CALL, "nesting": json.loads("[" * defaults.MAX_EVENT_DEPTH + "]" * defaults.MAX_EVENT_DEPTH)},
])
def test_payloads_the_quick_check_is_unsure_of_are_still_accepted_when_valid(payload):
    assert make_event(payload).size_bytes > 0


@pytest.mark.parametrize("extra, field, rule", [
    ({"x": float("nan")}, "event.x", "is not a finite number"),
    ({"x": [1, float("-inf")]}, "event.x[1]", "is not a finite number"),
    ({"x": {"y": "\ud800"}}, "event.x.y", "lone surrogate"),
    ({"\udfff": 1}, "event", "has a key that is not a valid Unicode string"),
    ({"x": {7: "seven"}}, "event.x", "has a key that is not a valid Unicode string"),
    ({"x": (1, 2)}, "event.x", "is a tuple"),
    ({"x": b"bytes"}, "event.x", "is a bytes"),
    ({"x": json.loads("[" * (defaults.MAX_EVENT_DEPTH + 1) + "]" * (defaults.MAX_EVENT_DEPTH + 1))}, "event",
     "nests deeper"),
])
def test_what_publishing_refuses_is_named_with_its_place_in_the_event(extra, field, rule):
    with pytest.raises(ValidationError) as refused:
        make_event({**CALL, **extra})

    assert refused.value.field == field
    assert rule in refused.value.rule


def test_publishing_to_an_unknown_account_is_refused_and_nothing_is_enqueued(fake_redis):
    accounts.create_account(fake_redis, "tenant", account_id=ACCOUNT_ID)
    stranger = {**CALL, "account_id": "f" * 32}

    with pytest.raises(ValidationError) as refused:
        publish(fake_redis, [CALL, stranger])

    assert refused.value.field == "account_id"
    assert refused.value.value == "f" * 32
    assert events_queued(fake_redis) == 0


def test_a_batch_with_one_invalid_event_enqueues_none_of_it(fake_redis):
    accounts.create_account(fake_redis, "tenant", account_id=ACCOUNT_ID)

    with pytest.raises(ValidationError):
        publish(fake_redis, [CALL, {**CALL, "hook_event": "bogus"}])

    assert events_queued(fake_redis) == 0
