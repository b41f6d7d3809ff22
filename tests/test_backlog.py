"""A backlog for one dead hook must not starve the others: one hook holds only a share of
the delivery workers, and a delivery over that share waits, through RQ, without losing an
attempt. The last test measures what a healthy hook loses behind such a backlog."""

import socket
import statistics
import threading
import time

import pytest
from rq import SimpleWorker
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from rq.worker_registration import WORKERS_BY_QUEUE_KEY

from hookpool import accounts, attempts, failures, hooks, keys, queues
from hookpool.config import ConfigurationError, load_config
from hookpool.events import Event
from hookpool.publishing import publish
from hookpool.workers import fairness, jobs
from support import wait_for

HOOK_ID = "a" * 32
WORKERS_KEY = WORKERS_BY_QUEUE_KEY % queues.DELIVERIES
NOW_MS = 1_700_000_000_000


def _register_workers(redis, count):
    redis.sadd(WORKERS_KEY, *[f"rq:worker:w{n}" for n in range(count)])


# --- the cap ------------------------------------------------------------------------

def test_a_hook_may_hold_half_the_delivery_workers_and_no_more(fake_redis):
    _register_workers(fake_redis, 4)

    taken = [fairness.claim(fake_redis, HOOK_ID, f"d{n}", 0.5, 60, now_ms=NOW_MS) for n in range(3)]

    assert taken == [True, True, False]
    assert fairness.in_flight(fake_redis, HOOK_ID, now_ms=NOW_MS) == 2


def test_a_released_place_can_be_taken_again(fake_redis):
    _register_workers(fake_redis, 2)
    fairness.claim(fake_redis, HOOK_ID, "first", 0.5, 60, now_ms=NOW_MS)

    fairness.release(fake_redis, HOOK_ID, "first")

    assert fairness.claim(fake_redis, HOOK_ID, "second", 0.5, 60, now_ms=NOW_MS)


def test_every_hook_may_hold_one_worker_however_small_the_pool_or_the_share(fake_redis):
    assert fairness.claim(fake_redis, HOOK_ID, "alone", 0.0, 60, now_ms=NOW_MS)
    assert not fairness.claim(fake_redis, HOOK_ID, "second", 0.0, 60, now_ms=NOW_MS)


def test_a_share_of_one_lets_a_hook_use_every_worker(fake_redis):
    _register_workers(fake_redis, 3)

    taken = [fairness.claim(fake_redis, HOOK_ID, f"d{n}", 1.0, 60, now_ms=NOW_MS) for n in range(4)]

    assert taken == [True, True, True, False]


def test_the_place_of_a_worker_that_died_is_free_again_when_its_lease_ends(fake_redis):
    fairness.claim(fake_redis, HOOK_ID, "killed-mid-attempt", 0.5, 25, now_ms=NOW_MS)

    assert not fairness.claim(fake_redis, HOOK_ID, "next", 0.5, 25, now_ms=NOW_MS + 24_000)
    assert fairness.claim(fake_redis, HOOK_ID, "next", 0.5, 25, now_ms=NOW_MS + 25_001)


def test_a_delivery_run_again_keeps_its_own_place_instead_of_counting_twice(fake_redis):
    fairness.claim(fake_redis, HOOK_ID, "rerun", 0.5, 60, now_ms=NOW_MS)

    assert fairness.claim(fake_redis, HOOK_ID, "rerun", 0.5, 60, now_ms=NOW_MS + 1000)
    assert fairness.in_flight(fake_redis, HOOK_ID, now_ms=NOW_MS + 1000) == 1


def test_the_in_flight_set_is_the_documented_key_and_expires_with_its_last_lease(fake_redis):
    fairness.claim(fake_redis, HOOK_ID, "d1", 0.5, 60)

    assert keys.hook_in_flight(HOOK_ID) == f"hookpool:hook:{HOOK_ID}:in-flight"
    assert 0 < fake_redis.pttl(keys.hook_in_flight(HOOK_ID)) <= 60_000


def test_the_share_is_configured_by_an_environment_variable():
    assert load_config({}).hook_worker_share == 0.5
    assert load_config({"HOOKPOOL_HOOK_WORKER_SHARE": "0.25"}).hook_worker_share == 0.25
    with pytest.raises(ConfigurationError, match="HOOKPOOL_HOOK_WORKER_SHARE"):
        load_config({"HOOKPOOL_HOOK_WORKER_SHARE": "half"})


# --- a delivery over the cap, in a real worker on a real Redis ---------------------------

@pytest.fixture
def one_hook(real_redis, receiver):
    account = accounts.create_account(real_redis, "backlog")
    hook = hooks.create_hook(real_redis, account.id, {"name": "h", "uri": f"{receiver.url}/capped",
                                                      "hook": "channel_create", "retries": 2})
    return account, hook


def _enqueue_one_delivery(redis, account, hook):
    event = Event(account.id, "channel_create", {"account_id": account.id, "hook_event": "channel_create"})
    (delivery_id,) = jobs.enqueue_deliveries(redis, event, [hook])
    return delivery_id


def _work_once(redis):
    worker = SimpleWorker([queues.queue(redis, queues.DELIVERIES)], connection=redis)
    worker.work(burst=True)


def test_a_delivery_over_the_cap_waits_in_rqs_scheduled_registry_without_an_attempt(real_redis, receiver, one_hook):
    account, hook = one_hook
    delivery_id = _enqueue_one_delivery(real_redis, account, hook)
    fairness.claim(real_redis, hook.id, "another-delivery-holding-the-only-place", 0.5, 60)

    _work_once(real_redis)

    job = Job.fetch(delivery_id, connection=real_redis)
    assert job.get_status() == JobStatus.SCHEDULED
    assert delivery_id in ScheduledJobRegistry(queues.DELIVERIES, connection=real_redis)
    assert job.meta[jobs.DEFERRALS_META_KEY] == 1
    assert receiver.requests == []
    assert failures.count_recent(real_redis, [hook.id], 60_000, int(time.time() * 1000)) == {hook.id: 0}
    assert attempts.read(real_redis, account.id) == []


def test_a_deferred_delivery_is_later_sent_as_its_first_attempt_under_the_same_id(real_redis, receiver, one_hook):
    account, hook = one_hook
    receiver.answer([500, 200])
    delivery_id = _enqueue_one_delivery(real_redis, account, hook)
    fairness.claim(real_redis, hook.id, "holder", 0.5, 60)
    _work_once(real_redis)

    fairness.release(real_redis, hook.id, "holder")
    registry = ScheduledJobRegistry(queues.DELIVERIES, connection=real_redis)
    registry.requeue(delivery_id)
    _work_once(real_redis)  # the first attempt fails with 500; its retry is scheduled
    registry.requeue(delivery_id)
    _work_once(real_redis)

    tries = [(r.headers["X-Delivery-ID"], r.headers["X-Delivery-Attempt"]) for r in receiver.requests]
    assert tries == [(delivery_id, "1"), (delivery_id, "2")]
    assert fairness.in_flight(real_redis, hook.id) == 0


def test_a_deferred_delivery_keeps_all_of_its_hooks_retries(real_redis, receiver, one_hook):
    account, hook = one_hook
    receiver.answer([500])
    delivery_id = _enqueue_one_delivery(real_redis, account, hook)
    registry = ScheduledJobRegistry(queues.DELIVERIES, connection=real_redis)
    for _ in range(3):  # three deferrals first
        fairness.claim(real_redis, hook.id, "holder", 0.5, 60)
        _work_once(real_redis)
        fairness.release(real_redis, hook.id, "holder")
        registry.requeue(delivery_id)

    for _ in range(hook.retries + 1):
        _work_once(real_redis)
        if delivery_id in registry:
            registry.requeue(delivery_id)

    assert [r.headers["X-Delivery-Attempt"] for r in receiver.requests] == ["1", "2", "3"]
    assert Job.fetch(delivery_id, connection=real_redis).get_status() == JobStatus.FAILED


# --- measured: a healthy hook behind 1,000 deliveries to a hanging receiver --------------

class HangingReceiver:
    """Accepts connections, reads what comes, and never answers."""

    def __init__(self):
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._open = []
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self):
        while not self._stopped:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._open.append(connection)

    def stop(self):
        self._stopped = True
        self._listener.close()
        for connection in self._open:
            connection.close()


BACKLOG = 1000
HEALTHY_EVENTS = 20
WORKERS = 4
DEADLINE_S = "2"
WINDOW_S = 15.0


def _measure(real_redis, receiver, processes, share):
    """Latencies (s) of a healthy hook's deliveries published behind a dead hook's backlog."""
    dead_receiver = HangingReceiver()
    try:
        account = accounts.create_account(real_redis, f"share {share}")
        dead = hooks.create_hook(real_redis, account.id, {"name": "dead", "uri": f"{dead_receiver.url}/dead",
                                                          "hook": "parking", "retries": 0})
        hooks.create_hook(real_redis, account.id, {"name": "healthy", "uri": f"{receiver.url}/healthy",
                                                   "hook": "channel_create", "retries": 0})
        backlog_event = Event(account.id, "parking", {"account_id": account.id})
        for _ in range(BACKLOG // 100):
            jobs.enqueue_deliveries(real_redis, backlog_event, [dead] * 100)

        env = {"HOOKPOOL_DELIVERY_DEADLINE_S": DEADLINE_S, "HOOKPOOL_HOOK_WORKER_SHARE": str(share)}
        for _ in range(WORKERS):
            processes.worker(env=env)
        wait_for(lambda: real_redis.scard(WORKERS_KEY) == WORKERS, what="workers to register")

        published_at = {}
        for number in range(HEALTHY_EVENTS):
            publish(real_redis, [{"account_id": account.id, "hook_event": "channel_create", "n": number}])
            published_at[number] = time.time()
            time.sleep(0.25)
        end = time.time() + WINDOW_S
        while time.time() < end and len(receiver.requests_to("/healthy")) < HEALTHY_EVENTS:
            time.sleep(0.1)
        received = {int(dict(r.form_pairs())["n"]): r.time_s for r in receiver.requests_to("/healthy")}
        return [received[n] - published_at[n] for n in sorted(received)]
    finally:
        for process in processes.started:
            process.stop()
        processes.started.clear()
        dead_receiver.stop()


@pytest.mark.integration
def test_measure_what_a_healthy_hook_loses_behind_a_dead_hooks_backlog(redis_server, real_redis, receiver, processes):
    """Prints figures; asserts only that the cap let the healthy hook through at all."""
    figures = {}
    for share in (0.5, 1.0):
        real_redis.flushall()
        receiver.requests.clear()
        figures[share] = _measure(real_redis, receiver, processes, share)

    print(f"\n{BACKLOG} deliveries queued for a hook whose receiver hangs (deadline {DEADLINE_S} s), "
          f"{WORKERS} workers, {HEALTHY_EVENTS} events for a healthy hook published 0.25 s apart:")
    for share, latencies in figures.items():
        label = "cap off (share 1.0)" if share == 1.0 else f"cap on (share {share})"
        if latencies:
            print(f"  {label}: {len(latencies)}/{HEALTHY_EVENTS} delivered within {WINDOW_S:g} s; latency "
                  f"median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s")
        else:
            print(f"  {label}: 0/{HEALTHY_EVENTS} delivered within {WINDOW_S:g} s")
    assert len(figures[0.5]) == HEALTHY_EVENTS
