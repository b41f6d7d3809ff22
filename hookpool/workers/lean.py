"""Fewer Redis round trips per job, without leaving RQ's bookkeeping.

rq 2.12's SimpleWorker spends about sixteen round trips (some fifty commands)
on every job, however small. Most of them write what an earlier one wrote a
millisecond before, or wait for a reply nobody reads. LeanWorkerMixin keeps
every record rq's tools and its abandoned-job recovery rely on (the worker
hash and its heartbeat, the job's status, the execution and its entry in the
started registry, the failed registry, retries) and writes them in fewer trips:

- preparing a job: rq's two pipelines (the execution, then the job and worker
  state) become one;
- finishing a job whose result is not kept (hookpool's jobs have result_ttl
  0): the counters, the job's deletion, the execution's removal from the
  started registry, the worker going idle and its heartbeat go in one
  pipeline; rq would first read the job's executions back one by one;
- the job's own last-heartbeat write as it ends is dropped: every path that
  keeps the job hash saves the whole job right after (retry, failure), and
  success deletes it;
- the worker's state is written when it changes, the worker's heartbeat at
  most every HEARTBEAT_REFRESH_S (its key lives for the worker TTL, minutes),
  and `rq suspend` is looked for once per SUSPENSION_CHECK_INTERVAL_S;
- LeanJob: the PERSIST rq sends as a job starts goes into the preparation
  pipeline;
- LeanQueue: taking a job from the first non-empty queue and reading its hash
  is one script call; only when every queue is empty does rq's blocking pop
  (then a read of the job) run.

Outside the worker loop, `recent` keeps a value read from Redis for a second
or so in the worker process (see settings_cache_enabled), for reads such as
a system setting that every delivery would otherwise make.

Jobs whose result is kept, that repeat, or that belong to a group finish
through rq's own code. Known shortcoming: a job enqueued by someone else with
depends_on pointing at a hookpool job would not be enqueued when that job
succeeds (rq checks for dependents under WATCH, one more round trip per job);
hookpool itself never makes dependent jobs. Counting dependents in the
deletion script, and falling back to rq's path when there are some, would fix it.
"""

import logging
import time

from rq import Queue, worker_registration
from rq import job as rq_job
from rq.exceptions import NoSuchJobError
from rq.executions import Execution, ExecutionRegistry
from rq.job import Job
from rq.utils import now, utcformat
from rq.worker import WorkerStatus

log = logging.getLogger(__name__)

SUSPENSION_CHECK_INTERVAL_S = 1.0
# A heartbeat gives the worker's key the whole worker TTL (minutes): renewing it every few seconds is plenty.
HEARTBEAT_REFRESH_S = 5.0

# Delete a finished job the way rq's Job.delete does for a job without a group:
# its executions (hash and started-registry entry), its executions registry, the
# job hash and its dependency sets. Run inside the finishing MULTI/EXEC.
# KEYS: job hash, dependents set, dependencies set, executions registry, started registry.
# ARGV: execution key prefix ("rq:execution:<job id>:"), started-registry member prefix ("<job id>:").
_DELETE_FINISHED_JOB = """
local execution_ids = redis.call('ZRANGE', KEYS[4], 0, -1)
for _, execution_id in ipairs(execution_ids) do
    redis.call('DEL', ARGV[1] .. execution_id)
    redis.call('ZREM', KEYS[5], ARGV[2] .. execution_id)
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return #execution_ids
"""


# Pop the first job id from the first non-empty queue, and return it with the job's hash.
# KEYS: the queues, in priority order. ARGV: the job key prefix ("rq:job:").
# Returns nil when every queue is empty, else {queue index (1-based), job id, flat hash}.
_POP_WITH_JOB = """
for index, queue_key in ipairs(KEYS) do
    local job_id = redis.call('LPOP', queue_key)
    if job_id then
        return {index, job_id, redis.call('HGETALL', ARGV[1] .. job_id)}
    end
end
return nil
"""


class LeanJob(Job):
    """An rq Job whose start leaves the PERSIST of its key to the worker's preparation pipeline."""

    def perform(self):
        stack = getattr(rq_job, "_job_stack", None)
        if stack is None:  # an rq without the stack get_current_job reads: rq's own way, persist included
            return super().perform()
        stack.push(self)
        try:
            self._result = self._execute()
        finally:
            assert self is stack.pop()
        return self._result


class LeanQueue(Queue):
    """The worker's queue_class: its non-blocking take (pop, then read the job) is one round trip.

    Only its dequeue_any is used; the queues handed back are the worker's own
    queue objects, whatever their class.
    """

    @classmethod
    def dequeue_any(cls, queues, timeout, connection, job_class=None, serializer=None, death_penalty_class=None):
        queues = list(queues)
        job_class = job_class or cls.job_class
        queue_keys = [q.key for q in queues]
        while True:
            taken = connection.eval(_POP_WITH_JOB, len(queue_keys), *queue_keys, job_class.redis_job_namespace_prefix)
            if taken is None:
                return cls._dequeue_blocking(queues, timeout, connection, job_class, serializer, death_penalty_class)
            job = _restored_job(job_class, taken, connection, serializer)
            if job is not None:  # a job id whose hash is gone is skipped, as rq does
                return job, queues[taken[0] - 1]

    @classmethod
    def _dequeue_blocking(cls, queues, timeout, connection, job_class, serializer, death_penalty_class):
        """Every queue was empty: rq's own blocking pop waits for the next job."""
        found = super().dequeue_any(queues, timeout, connection=connection, job_class=job_class,
                                    serializer=serializer, death_penalty_class=death_penalty_class)
        if found is None:
            return None
        job, queue = found
        by_name = {q.name: q for q in queues}
        return job, by_name.get(queue.name, queue)


def _restored_job(job_class, taken, connection, serializer):
    _, raw_id, flat_hash = taken
    job = job_class(raw_id.decode(), connection=connection, serializer=serializer)
    try:
        job.restore(dict(zip(flat_hash[::2], flat_hash[1::2])))
    except NoSuchJobError:
        return None
    return job


class LeanWorkerMixin:
    """For rq's SimpleWorker: the same records, in about a third of the round trips."""

    _prepared_job_id = None
    _next_suspension_check = 0.0
    _full_heartbeat_at = None

    def validate_queues(self):
        # The queues keep their own class; LeanQueue only lends its dequeue_any (see LeanQueue).
        for queue in self.queues:
            if not isinstance(queue, Queue):
                raise TypeError(f"{queue!r} is not an rq Queue")

    # --- preparing --------------------------------------------------------------

    def prepare_execution(self, job):
        """rq's execution pipeline and its job-preparation pipeline, as one MULTI/EXEC.

        rq writes the worker's hash in four HSETs and the job's last heartbeat
        twice; here each hash is written once, with the same fields.
        """
        ttl = self.get_heartbeat_ttl(job)
        with self.connection.pipeline() as pipe:
            self.execution = Execution.create(job, ttl, pipeline=pipe, worker_name=self.name)
            self.current_job_working_time = 0
            self._queue_worker_record(pipe, WorkerStatus.BUSY, ttl, current_job=job.id, current_job_working_time=0)
            job.prepare_for_execution(self.name, pipeline=pipe)  # status, started_at, last_heartbeat, worker
            pipe.persist(job.key)  # LeanJob.perform leaves it to us
            pipe.execute()
        self._prepared_job_id = job.id
        return self.execution

    def prepare_job_execution(self, job, remove_from_intermediate_queue=False):
        if self._prepared_job_id == job.id and not remove_from_intermediate_queue:
            self._prepared_job_id = None
            return
        super().prepare_job_execution(job, remove_from_intermediate_queue)

    # --- finishing --------------------------------------------------------------

    def handle_execution_ended(self, job, queue, heartbeat_ttl):
        job.ended_at = now()
        job.last_heartbeat = job.ended_at

    def handle_job_success(self, job, queue, started_job_registry):
        if not self._finishes_lean(job):
            return super().handle_job_success(job, queue, started_job_registry)

        with self.connection.pipeline() as pipe:
            self.increment_successful_job_count(pipeline=pipe)
            self.increment_total_working_time(job.ended_at - job.started_at, pipe)
            # The deletion script removes every execution of the job, this one included,
            # which is what rq's cleanup_execution would do besides clearing current_job.
            self._queue_job_deletion(job, pipe)
            self.execution = None
            pipe.hdel(self.key, "current_job")
            self._queue_worker_record(pipe, WorkerStatus.IDLE, self.worker_ttl + 60)
            pipe.execute()
        self._full_heartbeat_at = time.monotonic()

    def _finishes_lean(self, job):
        return (job.get_result_ttl(self.default_result_ttl) == 0 and not job.repeats_left
                and not job.group_id and job.started_at is not None)

    def _queue_job_deletion(self, job, pipe):
        # EVAL, not a registered script: in a pipeline redis-py checks SCRIPT EXISTS first, one more round trip.
        script_keys = [job.key, job.dependents_key, job.dependencies_key,
                       ExecutionRegistry(job.id, self.connection).key, job.started_job_registry.key]
        execution_prefix = Execution("", job.id, self.connection).key
        pipe.eval(_DELETE_FINISHED_JOB, len(script_keys), *script_keys, execution_prefix, f"{job.id}:")

    # --- the worker's own records ---------------------------------------------------------

    def _queue_worker_record(self, pipe, state, ttl, **fields):
        """Queue the worker's state and heartbeat (with more fields, if given) as one HSET and its EXPIRE."""
        self._state = state
        self.last_heartbeat = now()
        pipe.hset(self.key, mapping={"state": state, "last_heartbeat": utcformat(self.last_heartbeat), **fields})
        pipe.expire(self.key, ttl)
        self._full_heartbeat_at = None

    def set_state(self, state, pipeline=None):
        # Only this worker writes its state, so an unchanged state need not be written again.
        if pipeline is None and state == self._state:
            return
        super().set_state(state, pipeline=pipeline)

    def heartbeat(self, timeout=None, pipeline=None):
        full_ttl = timeout is None
        if pipeline is None and full_ttl and self._heartbeat_is_fresh():
            return
        if pipeline is None:
            # rq sends the heartbeat's HSET and EXPIRE as two round trips; the
            # membership check rides along, to notice a Redis that lost our registration.
            with self.connection.pipeline(transaction=False) as pipe:
                pipe.sismember(worker_registration.REDIS_WORKER_KEYS, self.key)
                super().heartbeat(timeout, pipeline=pipe)
                still_registered = pipe.execute()[0]
            if not still_registered:
                self._register_again()
        else:
            super().heartbeat(timeout, pipeline=pipeline)
        self._full_heartbeat_at = time.monotonic() if full_ttl else None

    def _register_again(self):
        """Write the registration rq's register_birth writes, after Redis lost it (restart, failover, flush).

        Without it the worker goes on delivering but rq's tools and `hookpool
        status` no longer see it, and a health check would restart it for nothing.
        """
        with self.connection.pipeline() as pipe:
            pipe.hset(self.key, mapping=self.serialize())
            worker_registration.register(self, pipe)
            pipe.expire(self.key, self.worker_ttl + 60)
            pipe.execute()
        log.warning("worker %s registered again: Redis had lost its registration", self.name)

    def _heartbeat_is_fresh(self):
        return self._full_heartbeat_at is not None and time.monotonic() - self._full_heartbeat_at < HEARTBEAT_REFRESH_S

    def check_for_suspension(self, burst):
        if time.monotonic() < self._next_suspension_check:
            return
        self._next_suspension_check = time.monotonic() + SUSPENSION_CHECK_INTERVAL_S
        super().check_for_suspension(burst)


# --- values kept for a moment in the worker process ----------------------------------------

RECENT_MAX_AGE_S = 1.0
_recent_values = {}
_recent_enabled = False


def enable_recent_values():
    """Let `recent` keep values in this process: the worker turns it on; elsewhere every read is fresh."""
    global _recent_enabled
    _recent_enabled = True


def recent(name, redis, read, max_age_s=RECENT_MAX_AGE_S):
    """read(redis), or the value it returned less than max_age_s ago on the same connection pool."""
    if not _recent_enabled:
        return read(redis)
    key = (name, id(redis.connection_pool))
    kept = _recent_values.get(key)
    if kept is not None and time.monotonic() - kept[0] < max_age_s:
        return kept[1]
    value = read(redis)
    _recent_values[key] = (time.monotonic(), value)
    return value
