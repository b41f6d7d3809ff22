"""Bad input everywhere gets one clear error and writes nothing; a corrupt hook record in
Redis is skipped and reported while the other hooks are delivered; no payload crashes a worker."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rq import SimpleWorker
from rq.registry import FailedJobRegistry

from hookpool import accounts, hooks, keys, queues
from hookpool.control.cli import App, cli
from hookpool.errors import CorruptRecord, ValidationError
from hookpool.events import Event
from hookpool.publishing import publish
from hookpool.workers import jobs
from support import bracket_pairs, role_environment

ACCOUNT_ID = "a" * 32
HOOK_ID = "b" * 32
UNKNOWN_ID = "f" * 32


def hookpool_command():
    """The installed console script beside this Python."""
    script = Path(sys.executable).with_name("hookpool")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hookpool"]


def redis_contents(redis):
    """Every key with its type and value, to show that a refused command wrote nothing."""
    readers = {b"hash": redis.hgetall, b"set": redis.smembers, b"string": redis.get,
               b"zset": lambda k: redis.zrange(k, 0, -1, withscores=True), b"list": lambda k: redis.lrange(k, 0, -1),
               b"stream": lambda k: redis.xrange(k)}
    return {key: readers[redis.type(key)](key) for key in sorted(redis.keys("*"))}


def assert_refused_in_one_line(exit_code, stderr, stdout=""):
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert exit_code not in (0, None), stderr
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    assert "Traceback" not in stderr + stdout


# --- `hookpool publish` through the real console script ---------------------------------

def _event(account_id, **fields):
    return json.dumps({"account_id": account_id, "hook_event": "channel_create", **fields})


BAD_PUBLICATIONS = {
    "not JSON": lambda a: b"this is not json\n",
    "a JSON string, not an object": lambda a: b'"channel_create"\n',
    "a JSON array of numbers": lambda a: b"[1, 2, 3]",
    "no account": lambda a: b'{"hook_event": "channel_create"}\n',
    "an account id that is not an id": lambda a: b'{"hook_event": "channel_create", "account_id": "../../etc"}',
    "an unknown account": lambda a: _event(UNKNOWN_ID).encode(),
    "no event type": lambda a: json.dumps({"account_id": a}).encode(),
    "an unknown event type": lambda a: json.dumps({"account_id": a, "hook_event": "call_started"}).encode(),
    "huge": lambda a: _event(a, blob="x" * (2 * 1024 * 1024)).encode(),
    "deeply nested (40 levels)": lambda a: _event(a, deep=json.loads("[" * 40 + "]" * 40)).encode(),
    "nested past the parser's recursion limit": lambda a: b"[" * 200_000 + b"]" * 200_000,
    "binary": lambda a: bytes(range(256)) * 8,
    "NaN": lambda a: _event(a, x=0).replace('"x": 0', '"x": NaN').encode(),
    "Infinity": lambda a: _event(a, x=0).replace('"x": 0', '"x": -Infinity').encode(),
    "a number too large for a float": lambda a: _event(a, x=0).replace('"x": 0', '"x": 1e999').encode(),
    "a lone surrogate": lambda a: _event(a, x=0).replace('"x": 0', '"x": "\\udc00"').encode(),
    "an integer of 5000 digits": lambda a: _event(a, x=0).replace('"x": 0', '"x": ' + "9" * 5000).encode(),
    "empty": lambda a: b"",
    "only blank lines": lambda a: b"\n\n  \n",
    "one good line then a bad one": lambda a: (_event(a) + "\n{broken\n").encode(),
    "a good array with one bad item": lambda a: f"[{_event(a)}, {_event(UNKNOWN_ID)}]".encode(),
}


@pytest.mark.integration
@pytest.mark.parametrize("name", BAD_PUBLICATIONS)
def test_publish_refuses_bad_input_in_one_line_and_enqueues_nothing(redis_server, real_redis, name):
    account = accounts.create_account(real_redis, "publisher", account_id=ACCOUNT_ID)
    before = redis_contents(real_redis)

    finished = subprocess.run(hookpool_command() + ["publish", "-"], input=BAD_PUBLICATIONS[name](account.id),
                              env=role_environment(redis_server.url), capture_output=True, timeout=60)

    assert_refused_in_one_line(finished.returncode, finished.stderr.decode(), finished.stdout.decode())
    assert redis_contents(real_redis) == before
    assert queues.queue(real_redis, queues.EVENTS).count == 0


@pytest.mark.integration
@pytest.mark.parametrize("arguments", [
    ["publish", "no-such-file.json"],
    ["publish", "--event", "call_started", "-"],
    ["publish", "--account", "not-an-id", "-"],
    ["publish", "--account", UNKNOWN_ID, "-"],
    ["publish"],
    ["publish", "-", "extra"],
], ids=" ".join)
def test_publish_refuses_bad_arguments_in_one_line(redis_server, real_redis, arguments):
    accounts.create_account(real_redis, "publisher", account_id=ACCOUNT_ID)

    finished = subprocess.run(hookpool_command() + arguments, input=_event(ACCOUNT_ID).encode(),
                              env=role_environment(redis_server.url), capture_output=True, timeout=60)

    assert_refused_in_one_line(finished.returncode, finished.stderr.decode())
    assert queues.queue(real_redis, queues.EVENTS).count == 0


def test_publishing_from_python_refuses_what_json_cannot_carry_and_enqueues_nothing(fake_redis):
    accounts.create_account(fake_redis, "publisher", account_id=ACCOUNT_ID)
    base = {"account_id": ACCOUNT_ID, "hook_event": "channel_create"}

    for bad, field in ((float("nan"), "event.x"), (float("inf"), "event.x"), ({1, 2}, "event.x"),
                       (b"bytes", "event.x"), ({"k": "\ud800"}, "event.x.k"), ([object()], "event.x[0]")):
        with pytest.raises(ValidationError) as refused:
            publish(fake_redis, [base, {**base, "x": bad}])
        assert refused.value.field == field

    assert queues.queue(fake_redis, queues.EVENTS).count == 0


# --- every CLI argument, and every hook field --------------------------------------------

@pytest.fixture
def seeded(fake_redis, monkeypatch):
    monkeypatch.delenv("HOOKPOOL_ALLOW_NETWORKS", raising=False)
    accounts.create_account(fake_redis, "seeded", account_id=ACCOUNT_ID)
    hooks.create_hook(fake_redis, ACCOUNT_ID, {"name": "seeded", "uri": "https://93.184.215.14/hook",
                                               "hook": "channel_create"}, hook_id=HOOK_ID)
    return fake_redis


def _create(*extra, uri="https://93.184.215.14/x", event="channel_create", name="n"):
    return ["hooks", "create", ACCOUNT_ID, "--name", name, "--uri", uri, "--event", event, *extra]


BAD_COMMANDS = [
    # hooks create: each field in turn
    _create(name=""),
    _create(name="   "),
    _create(name="n" * 300),
    _create(uri=""),
    _create(uri="example.com/hook"),
    _create(uri="/relative"),
    _create(uri="ftp://93.184.215.14/x"),
    _create(uri="javascript:alert(1)"),
    _create(uri="https://93.184.215.14/x#fragment"),
    _create(uri="https://93.184.215.14/a b"),
    _create(uri="https://93.184.215.14/\u00e9"),
    _create(uri="https://93.184.215.14:99999/x"),
    _create(uri="https:///nohost"),
    _create(uri="https://93.184.215.14/" + "a" * 3000),
    _create(uri="http://127.0.0.1/x"),
    _create(uri="http://169.254.169.254/latest/meta-data/"),
    _create(uri="http://[::ffff:10.0.0.1]/x"),
    _create(uri="http://2130706433/x"),
    _create(event="call_started"),
    _create(event=""),
    _create("--verb", "delete"),
    _create("--format", "xml"),
    _create("--retries", "5"),
    _create("--retries", "-1"),
    _create("--retries", "two"),
    _create("--custom-data", "no-equals-sign"),
    _create("--custom-data", "=value"),
    _create("--custom-data", "k=" + "v" * 2000),
    _create(*[a for n in range(70) for a in ("--custom-data", f"k{n}=v")]),
    _create(event="notifications"),
    _create("--custom-data", "type=user", event="object"),
    _create("--custom-data", "type=user", "--custom-data", "action=doc_burned", event="object"),
    _create("--secret", "not-a-secret"),
    _create("--secret", "whsec_!!!"),
    _create("--secret", "whsec_c2hvcnQ="),
    _create("--secret", "whsec_" + "A" * 44, "--generate-secret"),
    _create("--id", "xyz"),
    _create("--id", HOOK_ID),
    _create("--include-subaccounts=maybe"),
    ["hooks", "create", UNKNOWN_ID, "--name", "n", "--uri", "https://93.184.215.14/x", "--event", "all"],
    ["hooks", "create", "not-an-id", "--name", "n", "--uri", "https://93.184.215.14/x", "--event", "all"],
    ["hooks", "create", ACCOUNT_ID, "--uri", "https://93.184.215.14/x", "--event", "all"],
    # hooks update, show, enable, disable, delete
    ["hooks", "update", HOOK_ID],
    ["hooks", "update", HOOK_ID, "--uri", "http://10.0.0.1/x"],
    ["hooks", "update", HOOK_ID, "--retries", "99"],
    ["hooks", "update", HOOK_ID, "--name", ""],
    ["hooks", "update", HOOK_ID, "--event", "notifications"],
    ["hooks", "update", UNKNOWN_ID, "--name", "x"],
    ["hooks", "show", "not-an-id"],
    ["hooks", "show", UNKNOWN_ID],
    ["hooks", "enable", UNKNOWN_ID],
    ["hooks", "disable", "../x"],
    ["hooks", "delete", UNKNOWN_ID],
    ["hooks", "list", "not-an-id"],
    # accounts
    ["accounts", "create", ""],
    ["accounts", "create", "x" * 200],
    ["accounts", "create", "child", "--parent", UNKNOWN_ID],
    ["accounts", "create", "child", "--parent", "nope"],
    ["accounts", "create", "dup", "--id", ACCOUNT_ID],
    ["accounts", "create", "bad id", "--id", "G" * 32],
    ["accounts", "show", UNKNOWN_ID],
    ["accounts", "delete", "not-an-id"],
    # maintenance
    ["hooks_configured", "not-an-id"],
    ["failure_status", UNKNOWN_ID],
    ["set_failure_expiry", "-5"],
    ["set_failure_expiry", "0"],
    ["set_failure_expiry", "soon"],
    ["set_failure_expiry", ACCOUNT_ID, "99999999999999"],
    ["set_disable_threshold", "0"],
    ["set_disable_threshold", UNKNOWN_ID, "3"],
    ["flush_hook_failures", ACCOUNT_ID, "not-an-id"],
    ["enable_account_hooks", UNKNOWN_ID],
    # the attempts log, settings, status, API keys, the roles and the test receiver
    ["attempts", "not-an-id"],
    ["attempts", UNKNOWN_ID],
    ["attempts", ACCOUNT_ID, "--since", "the other day"],
    ["attempts", ACCOUNT_ID, "--since", "-5m"],
    ["attempts", ACCOUNT_ID, "--limit", "0"],
    ["attempts", ACCOUNT_ID, "--hook", "nope"],
    ["settings", "not-an-id"],
    ["status", "--no-such-option"],
    ["keys", "no-such-subcommand"],
    ["worker", "--log-level", "LOUD"],
    ["scheduler", "--log-level", "quiet"],
    ["listen", "--port", "70000"],
    ["listen", "--status", "fine"],
    ["listen", "--status", "200,abc"],
    ["listen", "--delay", "-1"],
    # no such command, option or argument
    ["no-such-command"],
    ["hooks", "list", "--no-such-option"],
    ["accounts", "create"],
]


@pytest.mark.parametrize("arguments", BAD_COMMANDS, ids=lambda args: " ".join(args)[:90])
def test_a_bad_argument_gets_one_line_on_stderr_and_changes_nothing(seeded, arguments):
    before = redis_contents(seeded)

    result = CliRunner().invoke(cli, arguments, obj=App(None, client=seeded))

    assert_refused_in_one_line(result.exit_code, result.stderr, result.stdout)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert redis_contents(seeded) == before


# --- corrupt hook records ------------------------------------------------------------------

CORRUPTIONS = {
    "a missing uri": lambda r, k: r.hdel(k, "uri"),
    "a missing id": lambda r, k: r.hdel(k, "id"),
    "custom_data that is not JSON": lambda r, k: r.hset(k, "custom_data", "{not json"),
    "custom_data that is a list": lambda r, k: r.hset(k, "custom_data", "[1, 2]"),
    "custom_data with a number value": lambda r, k: r.hset(k, "custom_data", '{"a": 1}'),
    "retries that are words": lambda r, k: r.hset(k, "retries", "lots"),
    "retries out of range": lambda r, k: r.hset(k, "retries", "1000"),
    "enabled that is neither 1 nor 0": lambda r, k: r.hset(k, "enabled", "yes"),
    "an unknown verb": lambda r, k: r.hset(k, "http_verb", "DELETE"),
    "an unknown format": lambda r, k: r.hset(k, "format", "xml"),
    "an unknown event type": lambda r, k: r.hset(k, "hook", "call_started"),
    "a uri that is no URL": lambda r, k: r.hset(k, "uri", "not a url"),
    "an id that is not its key's": lambda r, k: r.hset(k, "id", "c" * 32),
    "bytes that are not UTF-8": lambda r, k: r.hset(k, "name", b"\xff\xfe"),
    "a secret that is not a secret": lambda r, k: r.hset(k, "secret", "whsec_???"),
    "created_ms that is not a number": lambda r, k: r.hset(k, "created_ms", "yesterday"),
}


@pytest.fixture
def three_hooks(real_redis, receiver):
    account = accounts.create_account(real_redis, "three", account_id=ACCOUNT_ID)
    for hook_id, path in (("1" * 32, "/first"), ("2" * 32, "/corrupt"), ("3" * 32, "/third")):
        hooks.create_hook(real_redis, account.id, {"name": path, "uri": f"{receiver.url}{path}",
                                                   "hook": "channel_create", "format": "json"}, hook_id=hook_id)
    return account


def _work(redis):
    worker = SimpleWorker([queues.queue(redis, name) for name in queues.ALL_QUEUES], connection=redis)
    worker.work(burst=True)
    return worker


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_a_corrupt_hook_record_is_skipped_and_reported_while_the_others_are_delivered(
        real_redis, receiver, three_hooks, caplog, corruption):
    CORRUPTIONS[corruption](real_redis, keys.hook("2" * 32))

    publish(real_redis, [{"account_id": ACCOUNT_ID, "hook_event": "channel_create"}])
    with caplog.at_level(logging.WARNING):
        _work(real_redis)

    assert sorted(r.path for r in receiver.requests) == ["/first", "/third"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("2" * 32 in w and "corrupt" in w for w in warnings), warnings


def test_a_hook_corrupted_after_fan_out_is_skipped_at_delivery_and_reported(real_redis, receiver, three_hooks, caplog):
    event = Event(ACCOUNT_ID, "channel_create", {"account_id": ACCOUNT_ID, "hook_event": "channel_create"})
    jobs.enqueue_deliveries(real_redis, event, hooks.list_hooks(real_redis, ACCOUNT_ID))
    real_redis.hset(keys.hook("2" * 32), "custom_data", "{broken")

    with caplog.at_level(logging.WARNING):
        _work(real_redis)

    assert sorted(r.path for r in receiver.requests) == ["/first", "/third"]
    assert any("2" * 32 in r.getMessage() and "corrupt" in r.getMessage() for r in caplog.records)


def test_listing_skips_a_corrupt_hook_and_showing_it_names_what_is_wrong(real_redis, three_hooks):
    real_redis.hset(keys.hook("2" * 32), "retries", "lots")

    listed = hooks.list_hooks(real_redis, ACCOUNT_ID)
    with pytest.raises(CorruptRecord, match=r"retries: 'lots' is not a whole number"):
        hooks.get_hook(real_redis, "2" * 32)

    assert [h.id for h in listed] == ["1" * 32, "3" * 32]
    result = CliRunner().invoke(cli, ["hooks", "show", "2" * 32], obj=App(None, client=real_redis))
    assert_refused_in_one_line(result.exit_code, result.stderr, result.stdout)
    assert "2" * 32 in result.stderr


# --- payloads no worker chokes on ----------------------------------------------------------

ODD_PAYLOADS = {
    "emoji, right-to-left, combining marks": {"name": "\U0001F4DE \u05e9\u05dc\u05d5\u05dd e\u0301"},
    "NUL and line separators": {"text": "a\u0000b\u2028c\u2029d\r\n"},
    "a noncharacter and a private-use character": {"text": "\ufffe\uffff\ue000"},
    "huge integers": {"big": 10 ** 300, "negative": -(10 ** 4000)},
    "extreme floats": {"max": 1.7976931348623157e308, "tiny": 5e-324, "negative_zero": -0.0, "sum": 0.1 + 0.2},
    "keys with brackets and form syntax": {"a[b]": "1", "[]": "2", "]": "3", "=&?": "4", "": "5", "a": {"[x]": "6"}},
    "a very long string": {"long": "x" * 300_000},
    "a very long key": {"k" * 10_000: "v"},
    "lists of lists, nulls and booleans": {"l": [[1, [2, None]], [True, False], [], {}]},
    "32 levels deep": json.loads('{"d":' * 31 + "1" + "}" * 31),
}


@pytest.mark.parametrize("data_format", ["json", "form-data"])
def test_no_payload_crashes_a_worker_and_each_arrives_as_sent(real_redis, receiver, data_format):
    account = accounts.create_account(real_redis, "odd", account_id=ACCOUNT_ID)
    hooks.create_hook(real_redis, account.id, {"name": "odd", "uri": f"{receiver.url}/odd", "hook": "parking",
                                               "format": data_format})
    payloads = [{"account_id": ACCOUNT_ID, "n": n, **payload} for n, payload in enumerate(ODD_PAYLOADS.values())]
    publish(real_redis, payloads, event_type="parking")

    _work(real_redis)

    assert len(receiver.requests) == len(payloads)
    by_n = {}
    for received in receiver.requests:
        if data_format == "json":
            body = received.json()
            by_n[body["n"]] = body
        else:
            pairs = received.form_pairs()
            by_n[int(dict(pairs)["n"])] = pairs
    for payload in payloads:
        expected = payload if data_format == "json" else bracket_pairs(payload)
        assert by_n[payload["n"]] == expected


def test_a_payload_that_slipped_past_publishing_fails_its_own_delivery_and_the_worker_goes_on(real_redis, receiver):
    account = accounts.create_account(real_redis, "slipped", account_id=ACCOUNT_ID)
    hook = hooks.create_hook(real_redis, account.id, {"name": "j", "uri": f"{receiver.url}/j", "hook": "parking",
                                                      "format": "json", "retries": 0})
    bad = Event(ACCOUNT_ID, "parking", {"account_id": ACCOUNT_ID, "text": "\ud800", "x": float("nan")})
    good = Event(ACCOUNT_ID, "parking", {"account_id": ACCOUNT_ID, "text": "fine"})
    jobs.enqueue_deliveries(real_redis, bad, [hook])
    jobs.enqueue_deliveries(real_redis, good, [hook])

    _work(real_redis)

    assert [r.json()["text"] for r in receiver.requests] == ["fine"]
    assert FailedJobRegistry(queues.DELIVERIES, connection=real_redis).count == 1


def test_a_corrupt_hook_can_still_be_deleted_and_leaves_no_index_entry(real_redis, three_hooks):
    real_redis.hset(keys.hook("2" * 32), "hook", "call_started")

    result = CliRunner().invoke(cli, ["hooks", "delete", "2" * 32], obj=App(None, client=real_redis))

    assert result.exit_code == 0, result.output
    assert not real_redis.exists(keys.hook("2" * 32))
    index_members = set().union(*(real_redis.smembers(k) for k in real_redis.keys(f"hookpool:account:{ACCOUNT_ID}:*")
                                  if real_redis.type(k) == b"set"))
    assert ("2" * 32).encode() not in index_members
    assert [h.id for h in hooks.list_hooks(real_redis, ACCOUNT_ID)] == ["1" * 32, "3" * 32]
