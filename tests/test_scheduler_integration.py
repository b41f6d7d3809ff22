"""The scheduler process and workers together disable a failing hook, on a real redis-server."""

import pytest
from rq_scheduler import Scheduler

from hookpool import accounts, hooks, keys, queues, settings
from hookpool.publishing import publish
from hookpool.scheduler import schedule
from support import wait_for

pytestmark = pytest.mark.integration

ACCOUNT_ID = "f" * 32
SCHEDULED_JOBS = "rq:scheduler:scheduled_jobs"
# A window of 8 s makes the pass run every 2 s; failures of one test run all fall inside it.
SHORT_EXPIRY_MS = 8_000
THRESHOLD = 3
# Fourteen hours ahead of UTC: a schedule or failure time read as local time would be far off.
FAR_FROM_UTC = {"TZ": "Pacific/Kiritimati"}


@pytest.fixture
def failing_hook(real_redis, receiver):
    accounts.create_account(real_redis, "tenant", account_id=ACCOUNT_ID)
    settings.set_account(real_redis, ACCOUNT_ID, settings.FAILURE_EXPIRY_MS, SHORT_EXPIRY_MS)
    settings.set_account(real_redis, ACCOUNT_ID, settings.DISABLE_THRESHOLD, THRESHOLD)
    receiver.answer([500], path="/down")
    return hooks.create_hook(real_redis, ACCOUNT_ID, {
        "name": "down", "uri": f"{receiver.url}/down", "hook": "channel_create", "retries": 0,
    })


def call():
    return {"account_id": ACCOUNT_ID, "hook_event": "channel_create", "call_id": "c1"}


def test_a_hook_that_keeps_failing_is_disabled_by_the_system(real_redis, receiver, processes, failing_hook):
    processes.scheduler(env=FAR_FROM_UTC)
    processes.worker(env=FAR_FROM_UTC)

    publish(real_redis, [call() for _ in range(THRESHOLD)])
    wait_for(lambda: len(receiver.requests_to("/down")) == THRESHOLD, what="every delivery to be attempted")
    disabled = wait_for(lambda: not hooks.get_hook(real_redis, failing_hook.id).enabled and
                        hooks.get_hook(real_redis, failing_hook.id), what="the hook to be disabled")

    assert disabled.disabled_by == "system"
    assert disabled.disabled_reason == "too many failed attempts"
    assert real_redis.zcard(keys.hook_failures(failing_hook.id)) == 0
    assert not real_redis.sismember(keys.FAILING_HOOKS, failing_hook.id)
    assert real_redis.zrange(SCHEDULED_JOBS, 0, -1) == [schedule.JOB_ID.encode()]


def test_events_for_a_disabled_hook_are_not_delivered(real_redis, receiver, processes, failing_hook):
    processes.scheduler()
    processes.worker()
    publish(real_redis, [call() for _ in range(THRESHOLD)])
    wait_for(lambda: not hooks.get_hook(real_redis, failing_hook.id).enabled, what="the hook to be disabled")

    [fan_out_id] = publish(real_redis, [call()])
    # A finished fan-out job is deleted at once (result_ttl 0).
    wait_for(lambda: not real_redis.exists(f"rq:job:{fan_out_id}"), what="the event to be fanned out")

    assert real_redis.llen(f"rq:queue:{queues.DELIVERIES}") == 0
    assert len(receiver.requests_to("/down")) == THRESHOLD


def test_failures_below_the_threshold_leave_the_hook_enabled(real_redis, receiver, processes, failing_hook):
    processes.scheduler()
    processes.worker()

    publish(real_redis, [call() for _ in range(THRESHOLD - 1)])
    wait_for(lambda: real_redis.zcard(keys.hook_failures(failing_hook.id)) == THRESHOLD - 1,
             what="the failures to be recorded")
    last_failure_ms = real_redis.zrange(keys.hook_failures(failing_hook.id), -1, -1, withscores=True)[0][1]
    wait_for(lambda: int(real_redis.hget(keys.DISABLE_PASS_LAST, "time_ms") or 0) > last_failure_ms,
             what="a pass after the last failure")

    assert hooks.get_hook(real_redis, failing_hook.id).enabled is True
    assert real_redis.zcard(keys.hook_failures(failing_hook.id)) == THRESHOLD - 1


def scheduler_instances(redis):
    return len(list(redis.scan_iter("rq:scheduler_instance:*")))


def test_starting_the_scheduler_twice_leaves_one_schedule_of_the_pass(real_redis, processes):
    processes.scheduler()
    wait_for(lambda: scheduler_instances(real_redis) == 1, what="the first scheduler to start")
    processes.scheduler()
    wait_for(lambda: scheduler_instances(real_redis) == 2, what="the second scheduler to start")
    # And once more from here, as a third start on another machine would.
    schedule.register(Scheduler(queue_name=queues.MAINTENANCE, connection=real_redis))

    assert real_redis.zrange(SCHEDULED_JOBS, 0, -1) == [schedule.JOB_ID.encode()]
