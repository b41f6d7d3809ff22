"""Getting work done again after the process doing it died, and workers back after Redis went away.

Three pieces, all inside RQ's own machinery:

- A lease. RQ notes each running job in its started registry with an expiry;
  a worker's maintenance pass treats a job whose entry has expired as
  abandoned. RQ sets that expiry to the job's timeout plus 60 s;
  RecoveringWorkerMixin shortens the 60 s to defaults.JOB_LEASE_MARGIN_S, so a delivery whose worker
  was SIGKILLed is found about a minute sooner.
- rerun_if_interrupted, an on_failure callback on every fan-out and delivery
  job. When the job was abandoned (its worker died) or stopped by a Redis
  error, it asks RQ to run the same job again, whatever the hook's retries:
  same job id, so the same X-Delivery-ID, and the same attempt number, so the
  hook's own retry budget is untouched.
- keep_working, which starts a fresh worker when RQ's work loop gives up
  (RQ quits on a Redis timeout, or when Redis vanishes while it records a
  job's outcome) and waits for Redis to answer first.
"""

import logging
import math
import time

import redis
from rq import Callback
from rq.exceptions import AbandonedJobError, StopRequested
from rq.executions import Execution, ExecutionRegistry
from rq.scripts import release_lock

from .. import defaults

log = logging.getLogger(__name__)

RERUNS_META_KEY = "hookpool_reruns"


def rerun_callback():
    """The on_failure Callback to give every fan-out and delivery job."""
    return Callback(rerun_if_interrupted)


def job_timeout_s(delivery_deadline_s):
    """A delivery job's RQ timeout: the HTTP deadline plus time to read the hook and record the outcome."""
    return math.ceil(delivery_deadline_s) + defaults.DELIVERY_JOB_SLACK_S


def rerun_if_interrupted(job, connection, exc_type, exc_value, traceback):
    """RQ on_failure callback: run the job again if it failed for want of a live worker or Redis.

    RQ calls this before it decides what to do with the failed job, on the
    same Job object, and then retries the job if job.retries_left is positive.
    Setting it here is how an interruption becomes a rerun of the same job.
    If an RQ upgrade changes that order, tests/test_faults_worker.py fails.
    """
    cause = _interruption(exc_type)
    if cause is None:
        return

    reruns = int(job.meta.get(RERUNS_META_KEY, 0))
    if reruns >= defaults.MAX_INTERRUPTED_RERUNS:
        log.error("job %s %s for the %s time; giving up on it (see RQ's failed registry)",
                  job.id, cause, _ordinal(reruns + 1))
        return

    if exc_type is AbandonedJobError:
        _forget_dead_executions(job, connection)
    job.meta[RERUNS_META_KEY] = reruns + 1
    job.retries_left = 1
    # An abandoned job runs again at once; after a Redis error, give Redis a moment
    # (a delay needs RQ's scheduler, which every hookpool worker runs).
    job.retry_intervals = [0 if exc_type is AbandonedJobError else defaults.REDIS_ERROR_RERUN_DELAY_S]
    log.warning("job %s %s; running it again (rerun %d of at most %d)",
                job.id, cause, reruns + 1, defaults.MAX_INTERRUPTED_RERUNS)


def _forget_dead_executions(job, connection):
    """Drop the dead worker's execution from the job's execution registry.

    RQ 2.12 keeps a registry entry 60 s longer than the execution it names; a
    rerun that ends within that minute would fail fetching the vanished
    execution, and RQ would file a delivered job as failed.
    """
    registry_key = ExecutionRegistry(job.id, connection).key
    for raw_id in connection.zrange(registry_key, 0, -1):
        execution_id = raw_id.decode()
        if not connection.exists(Execution(execution_id, job.id, connection).key):
            connection.zrem(registry_key, execution_id)


def _interruption(exc_type):
    if exc_type is None:
        return None
    if issubclass(exc_type, AbandonedJobError):
        return "was abandoned by a worker that died"
    if issubclass(exc_type, (redis.ConnectionError, redis.TimeoutError)):
        return "lost its connection to Redis"
    return None


def _ordinal(number):
    return {1: "first", 2: "second", 3: "third"}.get(number, f"{number}th")


class RecoveringWorkerMixin:
    """For RQ worker classes: a short lease on running jobs, and telling a requested stop from a crash."""

    _burst = False
    # RQ's idle worker retries a lost Redis with a backoff growing to 60 s; a short cap
    # means a worker is back within seconds of Redis, however long the outage was.
    max_connection_wait_time = defaults.REDIS_RECONNECT_MAX_WAIT_S

    def work(self, burst=False, **options):
        self._burst = burst
        return super().work(burst=burst, **options)

    def get_heartbeat_ttl(self, job):
        # A job running in the worker process gets no heartbeat while it runs, so the lease
        # must outlast its timeout (after which RQ stops the job itself).
        if not job.timeout or job.timeout < 0:
            return super().get_heartbeat_ttl(job)
        return int(job.timeout) + defaults.JOB_LEASE_MARGIN_S

    def stopped_on_purpose(self):
        """Whether the work loop ended because it was asked to: a signal, or a burst that is done."""
        return self._burst or self._shutdown_requested_date is not None


def keep_working(start_worker, redis_client):
    """Run workers one after another until one stops on request; return whether the last one ran jobs.

    start_worker(generation) builds a worker (with RecoveringWorkerMixin), runs
    its work loop and returns (worker, worked). A work loop that ends without
    a stop request ended because of Redis (RQ quits on a Redis timeout, or when
    Redis vanishes while it records a job's outcome) or a bug: wait until Redis
    answers and start a fresh worker under a new name, since the old one may
    still be registered.
    """
    generation = 1
    while True:
        worker = None
        try:
            worker, worked = start_worker(generation)
            if worker.stopped_on_purpose():
                return worked
            log.warning("worker %s stopped working without being asked to; starting a new one", worker.name)
            # Not Redis, then perhaps a bug that would end the next loop at once: do not spin.
            time.sleep(defaults.REDIS_RECONNECT_POLL_S)
        except redis.RedisError as exc:
            log.warning("worker lost Redis (%s); starting a new one when Redis answers", exc)

        try:
            _retire(worker)
            wait_for_redis(redis_client)
        except StopRequested:
            # SIGTERM while waiting: RQ's handler, still installed, raises this when no job runs.
            log.info("stopping on request while waiting for Redis")
            return False
        generation += 1


def _retire(worker):
    """Stop what an ended worker may have left running: its pub/sub thread and its scheduler's locks."""
    if worker is None:
        return
    thread = getattr(worker, "pubsub_thread", None)
    if thread is not None:
        thread.stop()
    scheduler = getattr(worker, "scheduler", None)
    if scheduler is None:
        return
    # The old scheduler's locks would keep the new one from moving delayed retries for a minute.
    for queue_name in scheduler.acquired_locks:
        try:
            release_lock(worker.connection, scheduler.get_locking_key(queue_name), scheduler.name)
        except redis.RedisError:
            pass  # they expire on their own; the new worker's scheduler then takes over


def wait_for_redis(redis_client, poll_s=defaults.REDIS_RECONNECT_POLL_S):
    """Block until Redis answers PING, logging once that we are waiting."""
    waited = False
    while True:
        try:
            redis_client.ping()
            if waited:
                log.info("Redis answers again")
            return
        except redis.RedisError as exc:
            if not waited:
                log.warning("waiting for Redis to answer (%s)", exc)
                waited = True
            time.sleep(poll_s)
