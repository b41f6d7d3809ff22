"""Registering the disable pass with rq-scheduler, and the scheduler process.

The pass is scheduled under one fixed job id, so registering it again (on
every start, on every machine) replaces the schedule rather than adding one.
Its interval follows the shortest failure window in force: a quarter of it,
within bounds. The scheduler process re-checks that on every tick, so a
changed setting changes the pace without a restart.

Any number of scheduler processes may run; one leads at a time. rq-scheduler's
own lock is not safe for that: any process deletes the lock on its way out of
a tick, even one it no longer holds (a process paused past the lock's
lifetime, then resumed, deletes its successor's lock), and every process that
does not get it logs a warning every second. HookpoolScheduler keeps
rq-scheduler's due-job handling but replaces the lock with a lease that holds
the leader's name: renewed and released only by the process named in it
(compare-and-set in Lua), so a resumed process finds it has been replaced and
steps down without touching its successor's lease.
"""

import logging
import os
import signal
import time
from datetime import datetime, timezone

import redis
from rq.job import Job
from rq_scheduler import Scheduler

from .. import defaults, queues, settings
from ..workers.recovery import wait_for_redis

log = logging.getLogger(__name__)

JOB_ID = "hookpool-disable-pass"
PASS_FUNCTION = "hookpool.scheduler.disable.run_disable_pass"
# How often the scheduler process looks for due jobs, in seconds.
TICK_S = 1
# The leader's lease: a leader that stops renewing it (dead, paused) is replaced after this long.
LEASE_S = TICK_S + 10

# KEYS[1]: the lease key. ARGV: our name, lease seconds.
# Returns 2 if we took a free lease, 1 if we renewed our own, 0 if another process holds it.
TAKE_OR_RENEW_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
    redis.call('EXPIRE', KEYS[1], ARGV[2])
    return 1
end
if holder then
    return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 2
"""

# KEYS[1]: the lease key. ARGV[1]: our name. Deletes the lease only if it is still ours.
RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def interval_for(expiry_ms):
    """Seconds between passes for a failure window of expiry_ms: about a quarter of it."""
    seconds = expiry_ms // 4000
    return max(defaults.DISABLE_PASS_MIN_INTERVAL_S, min(defaults.DISABLE_PASS_MAX_INTERVAL_S, seconds))


def registered_interval(scheduler):
    """The interval of the registered pass in seconds, or None if none is registered."""
    if JOB_ID not in scheduler:
        return None
    try:
        job = Job.fetch(JOB_ID, connection=scheduler.connection)
    except Exception:  # the schedule entry outlived its job hash: treat as unregistered
        return None
    return job.meta.get("interval")


def register(scheduler):
    """Make sure exactly one schedule of the pass exists, at the right interval. Returns the interval."""
    wanted = interval_for(settings.shortest_expiry_ms(scheduler.connection))
    current = registered_interval(scheduler)
    if current == wanted:
        return wanted

    scheduler.schedule(
        scheduled_time=datetime.now(timezone.utc).replace(tzinfo=None),
        func=PASS_FUNCTION,
        interval=wanted,
        repeat=None,
        id=JOB_ID,
        queue_name=queues.MAINTENANCE,
        timeout=defaults.DISABLE_PASS_TIMEOUT_S,
    )
    log.info("disable pass scheduled every %d s (was %s)", wanted, f"{current} s" if current else "not scheduled")
    return wanted


class HookpoolScheduler(Scheduler):
    """rq-scheduler with a leader lease, a quiet loop that outlives Redis restarts, and the pass kept registered."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._leading = False
        self._stop_requested = False

    # --- the lease ---------------------------------------------------------------

    def acquire_lock(self):
        """Take the lease if it is free, renew it if it is ours; return whether we lead."""
        outcome = self.connection.register_script(TAKE_OR_RENEW_LEASE)(
            keys=[self.scheduler_lock_key], args=[self.name, LEASE_S])
        leading = outcome in (1, 2)
        if leading != self._leading:
            log.info("scheduler %s %s", self.name,
                     "now leads: it moves due jobs onto their queues" if leading else "no longer leads")
        self._leading = self._lock_acquired = leading
        return leading

    def still_leads(self):
        return self.connection.get(self.scheduler_lock_key) == self.name.encode()

    def remove_lock(self):
        """Release the lease, but only if it is still ours."""
        if not self._lock_acquired:
            return
        self._leading = self._lock_acquired = False
        self.connection.register_script(RELEASE_LEASE)(keys=[self.scheduler_lock_key], args=[self.name])

    # --- the loop ------------------------------------------------------------------

    def enqueue_jobs(self):
        """Move due jobs onto their queues, checking before each that we still lead."""
        register(self)
        due = self.get_jobs_to_queue()
        for job in due:
            # A pause (SIGSTOP, a stalled VM) between taking the due list and this
            # point may have handed the lease to another scheduler, which then moved them.
            if not self.still_leads():
                log.info("scheduler %s lost the lease while paused; leaving due jobs to the new leader", self.name)
                return due
            self.enqueue_job(job)
        return due

    def heartbeat(self):
        """Refresh this scheduler's registration, writing it again if Redis lost it.

        A Redis restarted without persistence, a failover to an empty replica or
        a FLUSHALL drops the key while the process runs on; without this the
        scheduler would work unseen, and `hookpool status` would call it dead.
        """
        ttl_s = int(self._interval) + 10
        if self.connection.expire(self.key, ttl_s):
            return
        with self.connection.pipeline() as pipe:
            pipe.hset(self.key, mapping={"birth": time.time(), "pid": os.getpid()})
            pipe.expire(self.key, ttl_s)
            pipe.execute()
        log.warning("scheduler %s registered again: Redis had lost its registration", self.name)

    def tick(self):
        self.heartbeat()
        if self.acquire_lock():
            self.enqueue_jobs()

    def run(self, burst=False):
        """Tick every interval until SIGTERM or SIGINT; a Redis outage is waited out, not fatal."""
        self._install_signal_handlers()
        self._start_up()
        try:
            while not self._stop_requested:
                started = time.monotonic()
                try:
                    self.tick()
                except redis.RedisError as exc:
                    self._leading = self._lock_acquired = False
                    log.warning("scheduler %s lost Redis (%s); waiting for it", self.name, exc)
                    wait_for_redis(self.connection)
                if burst:
                    break
                time.sleep(max(0.0, self._interval - (time.monotonic() - started)))
        finally:
            self._leave()

    def _start_up(self):
        """Register this scheduler, waiting out a Redis that goes away while we do."""
        while True:
            wait_for_redis(self.connection)
            try:
                self.register_birth()
                self.connection.hset(self.key, "pid", os.getpid())
                return
            except redis.RedisError as exc:
                log.warning("scheduler %s lost Redis while starting (%s); waiting for it", self.name, exc)

    def _install_signal_handlers(self):
        # Only a flag: the loop ends at its next tick, and _leave does the Redis work outside the handler.
        def request_stop(signum, frame):
            self._stop_requested = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

    def _leave(self):
        try:
            self.remove_lock()
            self.register_death()
        except redis.RedisError as exc:
            log.warning("scheduler %s stopping without Redis (%s); its lease expires on its own", self.name, exc)
        log.info("scheduler %s stopped", self.name)


def run_scheduler(redis_client, burst=False):
    scheduler = HookpoolScheduler(queue_name=queues.MAINTENANCE, connection=redis_client, interval=TICK_S)
    # The pass is registered by whichever scheduler leads, on its first tick, where a
    # Redis outage is waited out like any other.
    log.info("scheduler %s starting", scheduler.name)
    scheduler.run(burst=burst)
