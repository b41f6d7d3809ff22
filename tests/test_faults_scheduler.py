"""Fault 3: several schedulers, one of them paused (SIGSTOP) past its lease and then resumed.

hookpool's scheduler processes (rq-scheduler, leading one at a time through
HookpoolScheduler's lease) enqueue the disable pass; the workers' own RQ
schedulers move delayed retries back onto their queue. Neither may send a
retry twice, nor disable (or report disabling) a hook twice.
"""

import time
from datetime import datetime, timedelta, timezone

import pytest
from rq import Queue

from fault_support import add_hook, call_event, new_account, pause, resume
from hookpool import hooks, queues, settings
from hookpool.publishing import publish
from hookpool.scheduler.schedule import LEASE_S, HookpoolScheduler
from support import wait_for

pytestmark = pytest.mark.integration

WORKER_ENV = {"HOOKPOOL_HOOK_WORKER_SHARE": "1"}
# RQ's worker scheduler holds its lock for its interval (1 s) + 60 s after its last renewal.
RQ_SCHEDULER_LOCK_S = 61
QUIET_PERIOD_S = 3.0
LEASE_KEY = HookpoolScheduler.scheduler_lock_key


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch):
    monkeypatch.setenv("HOOKPOOL_ALLOW_NETWORKS", "127.0.0.0/8")


def _scheduler(redis):
    return HookpoolScheduler(queue_name=queues.MAINTENANCE, connection=redis, interval=1)


def _expire_lease(redis):
    """What a pause longer than the lease comes to: the lease runs out under its holder."""
    redis.pexpire(LEASE_KEY, 1)
    time.sleep(0.01)


def test_a_scheduler_whose_lease_ran_out_neither_renews_nor_releases_its_successors_lease(real_redis):
    paused, successor = _scheduler(real_redis), _scheduler(real_redis)
    assert paused.acquire_lock()
    assert not successor.acquire_lock()

    _expire_lease(real_redis)
    assert successor.acquire_lock()
    paused.remove_lock()  # what rq-scheduler's loop does at the end of every tick

    assert real_redis.get(LEASE_KEY) == successor.name.encode()
    assert not paused.acquire_lock()
    assert successor.acquire_lock()  # renewal of its own lease


def test_a_scheduler_that_lost_its_lease_mid_tick_leaves_the_due_jobs_to_its_successor(real_redis):
    paused, successor = _scheduler(real_redis), _scheduler(real_redis)
    assert paused.acquire_lock()
    paused.enqueue_at(datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(seconds=5),
                      "hookpool.scheduler.disable.run_disable_pass")
    _expire_lease(real_redis)
    assert successor.acquire_lock()

    paused.enqueue_jobs()
    assert Queue(queues.MAINTENANCE, connection=real_redis).count == 0

    successor.enqueue_jobs()
    assert Queue(queues.MAINTENANCE, connection=real_redis).count >= 1


def _lease_holder(redis):
    name = redis.get(LEASE_KEY)
    if name is None:
        return None
    pid = redis.hget(f"{HookpoolScheduler.redis_scheduler_namespace_prefix}{name.decode()}", "pid")
    return (name.decode(), int(pid)) if pid else None


def test_with_three_schedulers_and_the_leader_paused_past_its_lease_each_retry_is_sent_once_and_the_hook_disabled_once(
        real_redis, receiver, processes):
    settings.set_system(real_redis, settings.FAILURE_EXPIRY_MS, 20_000)  # a disable pass every 5 s
    settings.set_system(real_redis, settings.DISABLE_THRESHOLD, 3)
    account = new_account(real_redis, "tenant")
    receiver.answer([500], path="/failing")
    failing = add_hook(real_redis, receiver, account.id, "failing", retries=2)
    workers = [processes.worker(env=WORKER_ENV) for _ in range(2)]
    schedulers = [processes.scheduler() for _ in range(3)]
    leader_name, leader_pid = wait_for(lambda: _lease_holder(real_redis), timeout_s=15, what="a leading scheduler")

    pause(leader_pid)
    publish(real_redis, [call_event(account.id, "call-1")])
    wait_for(lambda: (_lease_holder(real_redis) or (leader_name,))[0] != leader_name, timeout_s=LEASE_S + 5,
             what="another scheduler to take the lease")
    successor = _lease_holder(real_redis)
    resume(leader_pid)

    wait_for(lambda: not hooks.get_hook(real_redis, failing.id).enabled, timeout_s=30, what="the hook to be disabled")
    time.sleep(QUIET_PERIOD_S)
    attempts = receiver.requests_to("/failing")
    assert [r.headers["X-Delivery-Attempt"] for r in attempts] == ["1", "2", "3"]
    assert len({r.headers["X-Delivery-ID"] for r in attempts}) == 1
    assert hooks.get_hook(real_redis, failing.id).disabled_by == "system"
    disable_lines = [line for w in workers for line in w.log().splitlines() if f"hook {failing.id} disabled" in line]
    assert len(disable_lines) == 1, disable_lines
    assert _lease_holder(real_redis) == successor
    paused_log = next(s.log() for s in schedulers if s.pid == leader_pid)
    assert paused_log.count("no longer leads") == 1
    assert all("Lock already taken" not in s.log() for s in schedulers)


def _rq_scheduler_pid(redis, queue_name):
    """The pid of the worker-side RQ scheduler holding the lock of queue_name, if any."""
    name = redis.get(f"rq:scheduler-lock:{queue_name}")
    if name is None:
        return None
    pid = redis.hget(f"rq:scheduler:{name.decode()}", "pid")
    return int(pid) if pid else None


def test_a_retry_waiting_on_a_paused_worker_scheduler_is_sent_once_after_another_worker_takes_over(
        real_redis, receiver, processes):
    account = new_account(real_redis, "tenant")
    receiver.answer([500, 200], path="/flaky")
    add_hook(real_redis, receiver, account.id, "flaky", retries=1)
    processes.worker(env=WORKER_ENV)
    processes.worker(env=WORKER_ENV)
    scheduler_pid = wait_for(lambda: _rq_scheduler_pid(real_redis, queues.DELIVERIES), timeout_s=15,
                             what="a worker's RQ scheduler")

    pause(scheduler_pid)
    try:
        publish(real_redis, [call_event(account.id, "call-1")])
        wait_for(lambda: len(receiver.requests_to("/flaky")) >= 2, timeout_s=RQ_SCHEDULER_LOCK_S + 30,
                 what="the retry, once another worker's scheduler has the lock")
    finally:
        resume(scheduler_pid)
    time.sleep(QUIET_PERIOD_S)

    attempts = receiver.requests_to("/flaky")
    assert [r.headers["X-Delivery-Attempt"] for r in attempts] == ["1", "2"]
    assert len({r.headers["X-Delivery-ID"] for r in attempts}) == 1
    assert _rq_scheduler_pid(real_redis, queues.DELIVERIES) != scheduler_pid
