"""The worker's shortcuts (workers/lean.py) keep rq's records as rq itself would leave them.

Against the suite's own redis-server: the shortcuts are Lua scripts and
pipelines whose effect is what matters.
"""

import time

import pytest
from rq import Queue
from rq.registry import FailedJobRegistry, StartedJobRegistry

from hookpool import accounts, attempts, keys
from hookpool.scheduler.disable import disable_pass
from hookpool.workers import lean
from hookpool.workers.worker import HookpoolWorker


def succeed():
    return "done"


def fail():
    raise ValueError("this job always fails")


def lean_worker(redis, queue_names):
    queues = [Queue(name, connection=redis) for name in queue_names]
    return HookpoolWorker(queues, connection=redis, name=f"lean-test-{time.monotonic_ns()}",
                          job_class=lean.LeanJob, queue_class=lean.LeanQueue)


def rq_keys(redis, pattern):
    return sorted(k.decode() for k in redis.keys(pattern))


@pytest.mark.integration
def test_a_job_that_succeeds_leaves_no_job_execution_or_started_entry_behind(real_redis):
    queue = Queue("lean", connection=real_redis)
    jobs = [queue.enqueue(f"{__name__}.succeed", result_ttl=0) for _ in range(5)]

    worker = lean_worker(real_redis, ["lean"])
    worker.work(burst=True)

    assert rq_keys(real_redis, "rq:job:*") == []
    assert rq_keys(real_redis, "rq:execution*") == []
    assert StartedJobRegistry("lean", connection=real_redis).count == 0
    assert int(real_redis.hget(worker.key, "successful_job_count")) == len(jobs)


@pytest.mark.integration
def test_a_job_that_fails_is_filed_in_rqs_failed_registry_with_its_started_entry_removed(real_redis):
    queue = Queue("lean", connection=real_redis)
    job = queue.enqueue(f"{__name__}.fail", result_ttl=0)

    lean_worker(real_redis, ["lean"]).work(burst=True)

    assert job.id in FailedJobRegistry("lean", connection=real_redis).get_job_ids()
    assert StartedJobRegistry("lean", connection=real_redis).count == 0
    assert "this job always fails" in (job.latest_result().exc_string or "")


@pytest.mark.integration
def test_jobs_are_taken_from_the_first_queue_that_has_one(real_redis):
    first, second = Queue("first", connection=real_redis), Queue("second", connection=real_redis)
    later = second.enqueue(f"{__name__}.succeed")
    sooner = first.enqueue(f"{__name__}.succeed")

    taken = lean.LeanQueue.dequeue_any([first, second], None, connection=real_redis, job_class=lean.LeanJob)
    then = lean.LeanQueue.dequeue_any([first, second], None, connection=real_redis, job_class=lean.LeanJob)

    assert (taken[0].id, taken[1]) == (sooner.id, first)
    assert (then[0].id, then[1]) == (later.id, second)
    assert taken[0].func_name == f"{__name__}.succeed"
    assert lean.LeanQueue.dequeue_any([first, second], None, connection=real_redis) is None


@pytest.mark.integration
def test_a_queued_id_whose_job_is_gone_is_skipped(real_redis):
    queue = Queue("lean", connection=real_redis)
    vanished = queue.enqueue(f"{__name__}.succeed")
    kept = queue.enqueue(f"{__name__}.succeed")
    real_redis.delete(vanished.key)

    taken, _ = lean.LeanQueue.dequeue_any([queue], None, connection=real_redis, job_class=lean.LeanJob)

    assert taken.id == kept.id


@pytest.mark.integration
def test_the_disable_pass_trims_attempts_older_than_the_age_limit(real_redis):
    account = accounts.create_account(real_redis, "trimmed")
    now_ms = int(time.time() * 1000)
    too_old_ms = now_ms - 8 * 24 * 3600 * 1000
    log_key = keys.account_attempts(account.id)
    for offset in range(300):
        real_redis.xadd(log_key, {"doc": "{}"}, id=f"{too_old_ms + offset}-0")
    attempts.record(real_redis, account.id, {"try": 1})

    disable_pass(real_redis, now_ms=now_ms)

    assert real_redis.xlen(log_key) == 1
    assert real_redis.hget(keys.DISABLE_PASS_LAST, "trim_cursor") == b"0"


def test_recent_reads_every_time_unless_the_process_enabled_it(fake_redis, monkeypatch):
    reads = []

    def read(redis):
        reads.append(1)
        return len(reads)

    assert [lean.recent("thing", fake_redis, read) for _ in range(3)] == [1, 2, 3]

    monkeypatch.setattr(lean, "_recent_enabled", True)
    monkeypatch.setattr(lean, "_recent_values", {})
    assert [lean.recent("thing", fake_redis, read) for _ in range(3)] == [4, 4, 4]
    assert lean.recent("thing", fake_redis, read, max_age_s=0) == 5
