"""`attempts` and `status` through click's runner on fakeredis."""

import json
import time
from datetime import datetime, timezone

import pytest
from rq import Queue, SimpleWorker
from rq_scheduler import Scheduler

from hookpool import keys, queues
from hookpool.control.times import parse_since
from hookpool.control.output import format_ms
from hookpool.errors import ValidationError
from hookpool.scheduler import schedule

from control_dataset import CUSTOMER, ENDED_SYSTEM, OFFICE, PARKING, UNKNOWN_ACCOUNT, build, run

T0_MS = int(datetime(2026, 12, 3, 14, 0, tzinfo=timezone.utc).timestamp() * 1000)


@pytest.fixture
def redis(fake_redis):
    build(fake_redis)
    return fake_redis


def log_attempt(redis, account_id, time_ms, hook_id, event, number, retries_left, result, status, elapsed_ms):
    """An attempts log entry as a delivery writes it, with the stream id at time_ms so --since is exact."""
    entry = {"time_ms": time_ms, "hook_id": hook_id, "account_id": account_id, "event": event, "try": number,
             "retries_left": retries_left, "result": result, "status": status, "elapsed_ms": elapsed_ms}
    redis.xadd(keys.account_attempts(account_id), {"doc": json.dumps(entry)}, id=f"{time_ms}-0")


@pytest.fixture
def logged(redis):
    log_attempt(redis, OFFICE, T0_MS, PARKING, "parking", 1, 4, "status", 500, 120)
    log_attempt(redis, OFFICE, T0_MS + 1000, PARKING, "parking", 2, 3, "connect_timeout", None, 5000)
    log_attempt(redis, OFFICE, T0_MS + 2000, PARKING, "parking", 3, 2, "success", 200, 35)
    log_attempt(redis, OFFICE, T0_MS + 3000, ENDED_SYSTEM, "channel_destroy", 1, 0, "redirect", 302, 12)
    return redis


def stdout_lines(result):
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


# --- attempts ---------------------------------------------------------------------

def test_attempts_lists_the_accounts_log_newest_first_with_status_or_failure_kind(logged):
    assert stdout_lines(run(logged, "attempts", OFFICE)) == [
        "| TIME                     | HOOK                             | EVENT           | TRY | RESULT          | MS   |",
        "| 2026-12-03T14:00:03.000Z | dddddddddddddddddddddddddddddddd | channel_destroy | 1/1 | 302 redirect    | 12   |",
        "| 2026-12-03T14:00:02.000Z | eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee | parking         | 3/5 | 200             | 35   |",
        "| 2026-12-03T14:00:01.000Z | eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee | parking         | 2/5 | connect_timeout | 5000 |",
        "| 2026-12-03T14:00:00.000Z | eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee | parking         | 1/5 | 500             | 120  |",
        "found 4 attempts",
    ]


def test_attempts_failed_of_one_hook_since_a_time_narrows_the_list(logged):
    assert stdout_lines(run(logged, "attempts", OFFICE, "--hook", PARKING, "--failed",
                            "--since", "2026-12-03T15:00:00.500+01:00")) == [
        "| TIME                     | HOOK                             | EVENT   | TRY | RESULT          | MS   |",
        "| 2026-12-03T14:00:01.000Z | eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee | parking | 2/5 | connect_timeout | 5000 |",
        "found 1 attempt",
    ]


def test_attempts_limit_shows_the_newest_and_says_there_may_be_more(logged):
    assert stdout_lines(run(logged, "attempts", OFFICE, "--limit", "1")) == [
        "| TIME                     | HOOK                             | EVENT           | TRY | RESULT       | MS |",
        "| 2026-12-03T14:00:03.000Z | dddddddddddddddddddddddddddddddd | channel_destroy | 1/1 | 302 redirect | 12 |",
        "found 1 attempt (the newest 1; --limit shows more)",
    ]


def test_attempts_json_gives_the_whole_entries(logged):
    entries = json.loads(run(logged, "attempts", OFFICE, "--json", "--since", "2026-12-03T14:00:02Z").stdout)
    assert [(e["time_ms"], e["result"]) for e in entries] == [(T0_MS + 3000, "redirect"), (T0_MS + 2000, "success")]


def test_attempts_since_a_relative_time_counts_back_from_now(redis):
    now_ms = int(time.time() * 1000)
    log_attempt(redis, OFFICE, now_ms - 20 * 60_000, PARKING, "parking", 1, 4, "status", 503, 10)
    log_attempt(redis, OFFICE, now_ms - 5 * 60_000, PARKING, "parking", 2, 3, "status", 502, 10)
    shown = json.loads(run(redis, "attempts", OFFICE, "--since", "15m", "--json").stdout)
    assert [e["status"] for e in shown] == [502]


def test_attempts_of_an_account_with_none_says_so(redis):
    assert stdout_lines(run(redis, "attempts", CUSTOMER)) == [
        "| TIME | HOOK | EVENT | TRY | RESULT | MS |",
        "found 0 attempts",
    ]


@pytest.mark.parametrize("args, message, exit_code", [
    ([UNKNOWN_ACCOUNT], f"Error: no account with id '{UNKNOWN_ACCOUNT}'", 1),
    ([OFFICE, "--hook", "b" * 32], f"Error: no hook with id '{'b' * 32}'", 1),
    ([OFFICE, "--since", "yesterday"], "Invalid value for '--since': 'yesterday' is neither ISO 8601", 2),
    ([OFFICE, "--limit", "0"], "Invalid value for '--limit'", 2),
])
def test_attempts_refuses_bad_input_on_one_line(logged, args, message, exit_code):
    result = run(logged, "attempts", *args)
    assert result.exit_code == exit_code
    assert len(result.stderr.splitlines()) == 1
    assert message in result.stderr


@pytest.mark.parametrize("text, expected_ms", [
    ("30s", T0_MS - 30_000),
    ("15m", T0_MS - 15 * 60_000),
    ("2h", T0_MS - 2 * 3600_000),
    ("3d", T0_MS - 3 * 86400_000),
    ("1w", T0_MS - 7 * 86400_000),
    ("2026-12-03T13:00:00Z", T0_MS - 3600_000),
    ("2026-12-03T13:00:00", T0_MS - 3600_000),
    ("2026-12-03", T0_MS - 14 * 3600_000),
    ("2026-12-03T16:00:00+02:00", T0_MS),
])
def test_since_accepts_iso_8601_in_utc_unless_an_offset_is_given_and_times_ago(text, expected_ms):
    assert parse_since(text, T0_MS) == expected_ms


@pytest.mark.parametrize("text", ["", "15", "15 minutes", "-5m", "2026-13-01", "now"])
def test_since_refuses_anything_else_naming_the_value(text):
    with pytest.raises(ValidationError, match="--since"):
        parse_since(text, T0_MS)


# --- status -------------------------------------------------------------------------

def register_worker(redis, name="hookpool-test-1"):
    worker = SimpleWorker([Queue(n, connection=redis) for n in queues.ALL_QUEUES], connection=redis, name=name)
    worker.register_birth()
    return worker


def register_scheduler(redis, name="sched-1"):
    redis.hset(Scheduler.redis_scheduler_namespace_prefix + name, "birth", time.time())


def test_status_of_a_running_system_reports_every_part_and_exits_zero(redis):
    # The pass runs every quarter of the shortest window in force: the office's 30 s.
    worker = register_worker(redis)
    # As if on another machine, where status cannot look for the process and trusts rq's registration.
    redis.hset(worker.key, mapping={"hostname": "worker-host-1", "pid": 4242})
    register_scheduler(redis)
    schedule.register(Scheduler(queue_name=queues.MAINTENANCE, connection=redis))
    Queue(queues.DELIVERIES, connection=redis).enqueue("os.getpid")
    last_ms = int(time.time() * 1000) - 5000
    redis.hset(keys.DISABLE_PASS_LAST, mapping={"time_ms": last_ms, "hooks_checked": 3, "hooks_disabled": 1,
                                                "duration_ms": 2})

    result = run(redis, "status")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Redis: redis://")
    assert lines[1:] == [
        "",
        "| Queue                | Queued | Running | Retry waiting | Failed |",
        "| hookpool-maintenance | 0      | 0       | 0             | 0      |",
        "| hookpool-events      | 0      | 0       | 0             | 0      |",
        "| hookpool-deliveries  | 1      | 0       | 0             | 0      |",
        "",
        "Workers alive: 1",
        "| Worker          | Host          | PID  | State |",
        "| hookpool-test-1 | worker-host-1 | 4242 | ?     |",
        "Schedulers alive: 1 (sched-1)",
        f"Disable pass: scheduled every 7 s; last ran {format_ms(last_ms)} (5 s ago): 3 hooks with failures checked, "
        "1 disabled, in 2 ms",
        "Hooks: 2 enabled, 4 disabled (3 by the system, 1 by an operator), in 4 accounts",
    ]


def test_status_exits_non_zero_naming_each_missing_role(redis):
    result = run(redis, "status")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: no worker is alive (start one: hookpool worker)",
        "Error: no scheduler is alive (start one: hookpool scheduler)",
    ]
    assert "Disable pass: not scheduled; last ran" in result.stdout


def test_status_does_not_count_a_worker_whose_process_is_gone_or_a_scheduler_that_recorded_its_death(redis):
    worker = register_worker(redis)
    redis.hset(worker.key, "pid", 2 ** 22 + 7)  # above Linux's default pid_max: no such process
    register_scheduler(redis)
    redis.hset(Scheduler.redis_scheduler_namespace_prefix + "sched-1", "death", time.time())

    report = json.loads(run(redis, "status", "--json").stdout)
    assert (report["workers"], report["schedulers"], report["healthy"]) == ([], [], False)


def test_status_names_a_stalled_disable_pass(redis):
    register_worker(redis)
    register_scheduler(redis)
    schedule.register(Scheduler(queue_name=queues.MAINTENANCE, connection=redis))
    redis.hset(keys.DISABLE_PASS_LAST, "time_ms", int(time.time() * 1000) - 600_000)

    result = run(redis, "status")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the disable pass last ran 600 s ago, though scheduled every 7 s")


def test_status_json_holds_the_same_facts(redis):
    register_worker(redis)
    report = json.loads(run(redis, "status", "--json").stdout)
    assert report["problems"] == ["no scheduler is alive (start one: hookpool scheduler)"]
    assert [q["name"] for q in report["queues"]] == list(queues.ALL_QUEUES)
    assert (report["hooks_enabled"], report["hooks_disabled_by_system"], report["hooks_disabled_by_operator"]) == (
        2, 3, 1)
