"""What a first-time user typed that hookpool took badly: odd numbers, odd settings, odd times, and wording."""

import codecs
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hookpool import accounts, attempts, defaults, keys, queues
from hookpool.config import load_config
from hookpool.control import cli  # noqa: F401  (registers every command before their modules are imported one by one)
from hookpool.control.listen import parse_statuses
from hookpool.control.role_commands import read_events
from hookpool.control.times import parse_since
from hookpool.errors import ConfigurationError, ValidationError
from hookpool.events import parse_event_text
from hookpool.hooks import build_hook

from control_dataset import CALLS, CUSTOMER, OFFICE, PARKING, build, run

ACCOUNT_ID = "5" * 32
NOW_MS = 1_800_000_000_000


def hookpool_command():
    script = Path(sys.executable).with_name("hookpool")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hookpool"]


def one_line_error(result, exit_code=1):
    """The single stderr line of a failed in-process command, checked to be alone and traceback-free."""
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def dataset(fake_redis):
    build(fake_redis)
    return fake_redis


# --- 1. HOOKPOOL_LOG_LEVEL -------------------------------------------------------------

@pytest.mark.parametrize("role", ["worker", "scheduler", "api"])
def test_an_unknown_log_level_in_the_environment_is_one_line_naming_the_variable(role):
    finished = subprocess.run(hookpool_command() + ["--redis-url", "redis://127.0.0.1:1", role],
                              env={**os.environ, "HOOKPOOL_LOG_LEVEL": "loud"},
                              capture_output=True, text=True, timeout=60)

    assert finished.returncode == 1
    assert finished.stderr == ("Error: HOOKPOOL_LOG_LEVEL='loud' is not a log level; "
                               "use one of DEBUG, INFO, WARNING, ERROR\n")


# --- 2. numeric environment variables ----------------------------------------------------

@pytest.mark.parametrize("variable, text", [
    ("HOOKPOOL_DELIVERY_DEADLINE_S", "1e999"),
    ("HOOKPOOL_DELIVERY_DEADLINE_S", "inf"),
    ("HOOKPOOL_CONNECT_TIMEOUT_S", "nan"),
    ("HOOKPOOL_DELIVERY_DEADLINE_S", "0"),
    ("HOOKPOOL_CONNECT_TIMEOUT_S", "0.0"),
    ("HOOKPOOL_CONNECT_TIMEOUT_S", "86400"),
    ("HOOKPOOL_HOOK_WORKER_SHARE", "5"),
    ("HOOKPOOL_HOOK_WORKER_SHARE", "0"),
    ("HOOKPOOL_RETRY_BACKOFF_S", "1_000"),
    ("HOOKPOOL_RETRY_BACKOFF_S", "\uff11\uff12"),
    ("HOOKPOOL_RETRY_BACKOFF_MAX_S", " 5"),
    ("HOOKPOOL_RETRY_AFTER_MAX_S", "9" * 5000),
])
def test_a_numeric_variable_out_of_range_or_not_plain_decimal_is_refused_naming_it(variable, text):
    with pytest.raises(ConfigurationError) as refused:
        load_config({variable: text})

    assert str(refused.value).startswith(f"{variable}={text!r} ")
    assert "\n" not in str(refused.value)


def test_numeric_variables_within_their_bounds_are_taken():
    config = load_config({"HOOKPOOL_HOOK_WORKER_SHARE": "1", "HOOKPOOL_CONNECT_TIMEOUT_S": "0.5",
                          "HOOKPOOL_DELIVERY_DEADLINE_S": "3600", "HOOKPOOL_RETRY_BACKOFF_S": "0"})

    assert (config.hook_worker_share, config.connect_timeout_s, config.delivery_deadline_s,
            config.retry_backoff_s) == (1.0, 0.5, 3600.0, 0)


# --- 3. numbers typed on the command line ------------------------------------------------

@pytest.mark.parametrize("text", ["\uff10\uff11\uff12", "\u0661\u0662", "1_000", "+100", " 5", "5 ", "12.0"])
def test_set_failure_expiry_takes_plain_ascii_digits_only(dataset, text):
    message = one_line_error(run(dataset, "set_failure_expiry", text))

    assert message == f"Error: failure_expiry_ms: {text!r} is not a whole number"


def test_a_number_of_5000_digits_is_said_to_have_too_many_digits(dataset):
    message = one_line_error(run(dataset, "set_disable_threshold", "9" * 5000))

    assert message.endswith("has too many digits (at most 18)")
    assert len(message) < 200


@pytest.mark.parametrize("text", ["\uff11\uff15m", "\u0661\u0665m", " 15m", "15 m", "+15m",
                                  "\uff12\uff10\uff12\uff16-12-03"])
def test_since_takes_plain_ascii_digits_only(text):
    with pytest.raises(ValidationError, match="--since"):
        parse_since(text, NOW_MS)


@pytest.mark.parametrize("text", [" 200", "+200", "2_00", "\uff12\uff10\uff10", "500, 200"])
def test_listen_statuses_take_plain_ascii_digits_only(text):
    with pytest.raises(Exception, match="is not a status code"):
        parse_statuses(text)


# --- 4. --since far in the past ------------------------------------------------------------

@pytest.mark.parametrize("since", ["9999999w", "0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z"])
def test_attempts_since_before_the_epoch_reads_from_the_beginning(real_redis, since):
    accounts.create_account(real_redis, "Office", account_id=ACCOUNT_ID)
    with real_redis.pipeline() as pipe:
        attempts.record(pipe, ACCOUNT_ID, {"hook_id": CALLS, "result": "failure", "time_ms": 1})
        pipe.execute()

    result = run(real_redis, "attempts", ACCOUNT_ID, "--since", since, "--json")

    assert result.exit_code == 0, result.output
    assert [entry["hook_id"] for entry in json.loads(result.stdout)] == [CALLS]


def test_attempts_since_far_in_the_future_is_not_an_error(real_redis):
    accounts.create_account(real_redis, "Office", account_id=ACCOUNT_ID)

    result = run(real_redis, "attempts", ACCOUNT_ID, "--since", "9999-12-31T23:59:59-12:00", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


# --- 5. listen --delay ------------------------------------------------------------------------

@pytest.mark.parametrize("delay", ["nan", "NaN", "inf", "-inf"])
def test_listen_refuses_a_delay_that_is_not_a_finite_number(fake_redis, delay):
    message = one_line_error(run(fake_redis, "listen", "--port", "0", "--delay", delay), exit_code=2)

    assert "Invalid value for '--delay'" in message


# --- 6. size limits --------------------------------------------------------------------------

def small_events(count):
    return [{"account_id": ACCOUNT_ID, "hook_event": "channel_create", "call_id": f"call-{n:06d}",
             "padding": "x" * 40} for n in range(count)]


def test_a_json_array_larger_than_one_event_limit_is_taken_when_each_event_is_small():
    text = json.dumps(small_events(20_000))
    assert len(text) > defaults.MAX_EVENT_BYTES

    events = parse_event_text(text)

    assert len(events) == 20_000


def test_one_event_of_an_array_over_the_event_limit_is_refused_naming_it_and_the_limit():
    items = small_events(3)
    items[1]["padding"] = "x" * defaults.MAX_EVENT_BYTES

    with pytest.raises(ValidationError) as refused:
        parse_event_text(json.dumps(items))

    assert refused.value.field == "event[1]"
    assert f"larger than the limit for one event, {defaults.MAX_EVENT_BYTES} bytes" in str(refused.value)


def test_an_input_over_the_whole_input_limit_is_refused_saying_so(monkeypatch):
    monkeypatch.setattr(defaults, "MAX_INPUT_BYTES", 10_000)
    data = "\n".join(json.dumps(event) for event in small_events(200)).encode()

    with pytest.raises(ValidationError) as refused:
        read_events(data)

    assert refused.value.field == "input"
    assert "larger than the limit for a whole input, 10000 bytes" in str(refused.value)


# --- 7. wording ----------------------------------------------------------------------------

def test_a_missing_value_is_not_shown_as_none():
    assert str(ValidationError("account_id", None, "is missing from the event")) == \
        "account_id is missing from the event"


def test_a_long_bad_value_is_cut_to_about_80_characters(dataset):
    message = one_line_error(run(dataset, "accounts", "show", "a" * 10_000))

    assert "aaa..." in message
    assert len(message) < 200


def test_an_object_hook_with_an_unknown_action_is_told_what_it_must_be():
    with pytest.raises(ValidationError) as refused:
        build_hook(OFFICE, {"name": "docs", "uri": "https://93.184.215.14/in", "hook": "object",
                            "custom_data": {"type": "user", "action": "bogus"}})

    assert str(refused.value) == ("custom_data.action: 'bogus' must be one of "
                                  "doc_created, doc_edited, doc_deleted, all")


def test_an_object_hook_without_an_action_is_told_it_is_required():
    with pytest.raises(ValidationError) as refused:
        build_hook(OFFICE, {"name": "docs", "uri": "https://93.184.215.14/in", "hook": "object",
                            "custom_data": {"type": "user"}})

    assert str(refused.value).startswith("custom_data.action is required for object hooks: one of ")


def test_input_that_is_not_utf8_names_the_offset_of_the_first_bad_byte():
    with pytest.raises(ValidationError) as refused:
        read_events(b'{"account_id": "\xff"}')

    assert str(refused.value) == "input is not UTF-8 text (first bad byte at offset 16)"


def test_publish_accepts_a_json_file_that_starts_with_a_byte_order_mark(dataset, tmp_path):
    path = tmp_path / "event.json"
    path.write_bytes(codecs.BOM_UTF8 + json.dumps({"account_id": OFFICE, "hook_event": "channel_create"}).encode())

    result = run(dataset, "publish", path)

    assert result.exit_code == 0, result.output
    assert queues.queue(dataset, queues.EVENTS).count == 1


def test_publish_with_ids_prints_each_events_id_in_order_and_one_alone_names_its_fan_out_job(dataset, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps({"account_id": OFFICE, "hook_event": "channel_create", "n": n})
                              for n in range(3)))
    alone = tmp_path / "alone.json"
    alone.write_text(json.dumps({"account_id": OFFICE, "hook_event": "channel_answer"}))

    batch = run(dataset, "publish", "--ids", path)
    single = run(dataset, "publish", "--ids", alone)

    assert batch.exit_code == 0 and single.exit_code == 0, batch.output + single.output
    [count_line, *event_ids] = batch.stdout.splitlines()
    [first_job, single_job] = queues.queue(dataset, queues.EVENTS).jobs
    assert count_line == "published 3 events"
    assert [e["event_id"] for e in first_job.args[0]] == event_ids
    assert single.stdout.splitlines() == ["published 1 event", single_job.id]


def test_hooks_import_accepts_a_json_file_that_starts_with_a_byte_order_mark(dataset, tmp_path):
    path = tmp_path / "hooks.json"
    document = {"name": "bom", "uri": "https://93.184.215.14/in", "hook": "channel_create"}
    path.write_bytes(codecs.BOM_UTF8 + json.dumps({"data": [document]}).encode())

    result = run(dataset, "hooks", "import", path, "--account", OFFICE, "--dry-run")

    assert result.exit_code == 0, result.output
    assert "would import 1 hook" in result.stdout


def test_an_event_with_a_5000_digit_integer_is_said_to_have_too_many_digits():
    text = json.dumps({"account_id": ACCOUNT_ID, "hook_event": "channel_create", "x": 0})
    data = text.replace('"x": 0', '"x": ' + "9" * 5000).encode()

    with pytest.raises(ValidationError) as refused:
        read_events(data)

    assert str(refused.value) == "input holds a number with too many digits"


def test_hooks_import_of_a_5000_digit_integer_is_said_to_have_too_many_digits(dataset, tmp_path):
    path = tmp_path / "hooks.json"
    path.write_text('{"name": "big", "retries": ' + "9" * 5000 + "}\n")

    message = one_line_error(run(dataset, "hooks", "import", path, "--account", OFFICE))

    assert message == "Error: source holds a number with too many digits"


def test_hooks_update_without_options_names_help_once(dataset):
    message = one_line_error(run(dataset, "hooks", "update", CALLS), exit_code=2)

    assert message.count("--help") == 1


# --- 8. contradicting update options ------------------------------------------------------

def test_hooks_update_refuses_clearing_and_setting_custom_data_at_once(dataset):
    before = dataset.hgetall(keys.hook(CALLS))

    message = one_line_error(run(dataset, "hooks", "update", CALLS, "--clear-custom-data",
                                 "--custom-data", "a=b"), exit_code=2)

    assert "--clear-custom-data and --custom-data contradict each other" in message
    assert dataset.hgetall(keys.hook(CALLS)) == before


# --- 9. demo with no Redis -----------------------------------------------------------------

def test_demo_without_a_reachable_redis_is_one_line_and_starts_nothing():
    finished = subprocess.run(hookpool_command() + ["--redis-url", "redis://127.0.0.1:1", "demo"],
                              capture_output=True, text=True, timeout=60)

    assert finished.returncode == 1
    assert finished.stdout == ""
    assert finished.stderr.startswith("Error: cannot reach Redis at redis://127.0.0.1:1")
    assert len(finished.stderr.splitlines()) == 1


# --- 10. listen stops cleanly ----------------------------------------------------------------

@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_listen_stops_on_sigint_or_sigterm_with_exit_status_0(stop_signal):
    process = subprocess.Popen(hookpool_command() + ["listen", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "listening on" in process.stderr.readline()
        process.send_signal(stop_signal)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 0
    assert "Aborted" not in stderr and "Traceback" not in stderr


# --- 11. help ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [[], ["accounts"], ["hooks"], ["keys"]])
def test_the_root_and_every_group_show_an_example_in_their_help(fake_redis, args):
    result = run(fake_redis, *args, "--help")

    assert result.exit_code == 0
    assert "Example:" in result.stdout


def test_root_help_lists_api_among_the_roles(fake_redis):
    roles_line = next(line for line in run(fake_redis, "--help").stdout.splitlines() if "Roles" in line)

    assert roles_line.rstrip().endswith("worker, scheduler, api")


def test_publish_help_examples_name_the_account(fake_redis):
    examples = [line for line in run(fake_redis, "publish", "--help").stdout.splitlines()
                if "hookpool publish" in line and "kazoo-samples" in line]

    assert examples and all("--account" in line for line in examples)


# --- 12. flush_hook_failures of another account's hook ------------------------------------

def test_flush_hook_failures_names_the_account_a_foreign_hook_belongs_to(dataset):
    message = one_line_error(run(dataset, "flush_hook_failures", CUSTOMER, PARKING))

    assert message == f"Error: hook: '{PARKING}' belongs to account {OFFICE}, not to {CUSTOMER}"
