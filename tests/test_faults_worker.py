"""Fault 1: a worker dies (SIGKILL) or is told to stop (SIGTERM) in the middle of a delivery.

Real redis-server, real worker processes, a real receiver that holds the
delivery open while the fault is injected. What counts is what the receiver got.
"""

import os
import signal
import time
from types import SimpleNamespace

import pytest
from rq import Queue
from rq.executions import Execution
from rq.job import JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry

from fault_support import HoldingReceiver, add_hook, call_event, call_ids, kill_group, new_account
from hookpool import defaults, queues
from hookpool.publishing import publish
from hookpool.workers.recovery import job_timeout_s
from support import wait_for

pytestmark = pytest.mark.integration

# A short delivery deadline keeps the lease, and so the test, short: the
# recovery bound is deadline + slack + lease margin + maintenance interval.
DEADLINE_S = 3
WORKER_ENV = {"HOOKPOOL_DELIVERY_DEADLINE_S": str(DEADLINE_S)}
RECOVERY_BOUND_S = job_timeout_s(DEADLINE_S) + defaults.JOB_LEASE_MARGIN_S + defaults.WORKER_MAINTENANCE_INTERVAL_S
# Longer than the time a duplicate would take to show up after the last expected request.
QUIET_PERIOD_S = 3.0


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch):
    monkeypatch.setenv("HOOKPOOL_ALLOW_NETWORKS", "127.0.0.0/8")


@pytest.fixture
def holding_receiver():
    server = HoldingReceiver()
    server.start()
    yield server
    server.stop()


def test_a_delivery_whose_worker_is_killed_mid_request_is_sent_again_with_the_same_delivery_id_despite_retries_0(
        real_redis, holding_receiver, processes):
    account = new_account(real_redis, "tenant")
    add_hook(real_redis, holding_receiver, account.id, "held", retries=0)
    holding_receiver.hold("/held")
    doomed = processes.worker(env=WORKER_ENV)

    publish(real_redis, [call_event(account.id, "call-1")])
    wait_for(lambda: holding_receiver.requests_to("/held"), timeout_s=15, what="the first attempt")
    kill_group(doomed)
    killed_at = time.monotonic()
    processes.worker(env=WORKER_ENV)

    wait_for(lambda: len(holding_receiver.requests_to("/held")) >= 2, timeout_s=RECOVERY_BOUND_S + 10,
             what=f"the delivery to be attempted again within {RECOVERY_BOUND_S} s")
    recovered_after_s = time.monotonic() - killed_at
    holding_receiver.release()
    time.sleep(QUIET_PERIOD_S)

    first, second = holding_receiver.requests_to("/held")
    assert second.headers["X-Delivery-ID"] == first.headers["X-Delivery-ID"]
    assert second.headers["X-Delivery-Attempt"] == first.headers["X-Delivery-Attempt"] == "1"
    assert call_ids([first, second]) == ["call-1", "call-1"]
    print(f"delivery attempted again {recovered_after_s:.1f} s after the SIGKILL (bound {RECOVERY_BOUND_S} s)")
    assert not FailedJobRegistry(queues.DELIVERIES, connection=real_redis).get_job_ids()


def test_a_worker_given_sigterm_mid_delivery_finishes_it_and_leaves_the_queued_ones_for_the_next_worker(
        real_redis, holding_receiver, processes):
    account = new_account(real_redis, "tenant")
    add_hook(real_redis, holding_receiver, account.id, "slow", retries=0)
    holding_receiver.hold("/slow")
    stopping = processes.worker(env=WORKER_ENV)

    publish(real_redis, [call_event(account.id, f"call-{n}") for n in range(3)])
    wait_for(lambda: holding_receiver.requests_to("/slow"), timeout_s=15, what="the first delivery")
    os.kill(stopping.pid, signal.SIGTERM)
    time.sleep(0.5)  # the worker is still inside the request when the receiver answers
    holding_receiver.release()
    assert stopping.wait(timeout_s=15) == 0

    assert len(holding_receiver.requests_to("/slow")) == 1
    assert not StartedJobRegistry(queues.DELIVERIES, connection=real_redis).get_job_ids()
    assert not FailedJobRegistry(queues.DELIVERIES, connection=real_redis).get_job_ids()

    processes.worker(env=WORKER_ENV)
    wait_for(lambda: len(holding_receiver.requests_to("/slow")) >= 3, timeout_s=15, what="the two queued deliveries")
    time.sleep(QUIET_PERIOD_S)
    received = holding_receiver.requests_to("/slow")
    assert sorted(call_ids(received)) == ["call-0", "call-1", "call-2"]
    assert len({r.headers["X-Delivery-ID"] for r in received}) == 3


def _take_and_die(redis, queue_name):
    """Do what a worker killed right after taking a job leaves behind: the job started, with a 1 s lease."""
    queue = Queue(queue_name, connection=redis)
    job, _ = Queue.dequeue_any([queue], timeout=None, connection=redis)
    with redis.pipeline() as pipe:
        Execution.create(job, ttl=1, pipeline=pipe, worker_name="killed-worker")
        job.set_status(JobStatus.STARTED, pipeline=pipe)
        pipe.execute()
    time.sleep(2.1)  # RQ scores leases in whole seconds
    return job


def test_an_event_whose_fan_out_was_abandoned_is_fanned_out_again_by_the_next_worker(
        real_redis, receiver, processes):
    account = new_account(real_redis, "tenant")
    add_hook(real_redis, receiver, account.id, "calls", retries=0)
    publish(real_redis, [call_event(account.id, "call-1")])
    _take_and_die(real_redis, queues.EVENTS)

    processes.worker(env=WORKER_ENV)

    wait_for(lambda: receiver.requests_to("/calls"), timeout_s=15, what="the delivery after the fan-out's rerun")
    time.sleep(QUIET_PERIOD_S)
    assert call_ids(receiver.requests_to("/calls")) == ["call-1"]


def test_a_job_abandoned_again_and_again_is_run_three_more_times_and_then_filed_as_failed(real_redis):
    account = new_account(real_redis, "tenant")
    add_hook(real_redis, SimpleNamespace(url="http://127.0.0.1:9"), account.id, "never-sent", retries=0)
    publish(real_redis, [call_event(account.id, "call-1")])
    fan_out = Queue(queues.EVENTS, connection=real_redis)
    started = StartedJobRegistry(queues.EVENTS, connection=real_redis)
    failed = FailedJobRegistry(queues.EVENTS, connection=real_redis)

    for _ in range(defaults.MAX_INTERRUPTED_RERUNS):
        job = _take_and_die(real_redis, queues.EVENTS)
        started.cleanup()
        assert fan_out.job_ids == [job.id] and not failed.get_job_ids()

    _take_and_die(real_redis, queues.EVENTS)
    started.cleanup()
    assert fan_out.job_ids == [] and failed.get_job_ids() == [job.id]


def test_a_queues_cleaning_lock_lives_a_minute_so_a_cleaner_killed_holding_it_delays_others_that_long(fake_redis):
    queue = queues.queue(fake_redis, queues.DELIVERIES)

    assert queue.acquire_maintenance_lock()

    assert 0 < fake_redis.ttl(queue.registry_cleaning_key) <= defaults.MAINTENANCE_LOCK_S
    assert not queue.acquire_maintenance_lock()
