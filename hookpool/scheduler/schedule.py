"""Registering the disable pass with rq-scheduler, and the scheduler process.

The pass is scheduled under one fixed job id, so registering it again (on
every start, on every machine) replaces the schedule rather than adding one.
Its interval follows the shortest failure window in force: a quarter of it,
within bounds. The scheduler process re-checks that on every tick, so a
changed setting changes the pace without a restart.
"""

import logging
from datetime import datetime, timezone

from rq.job import Job
from rq_scheduler import Scheduler

from .. import defaults, queues, settings

log = logging.getLogger(__name__)

JOB_ID = "hookpool-disable-pass"
PASS_FUNCTION = "hookpool.scheduler.disable.run_disable_pass"
# How often the scheduler process looks for due jobs, in seconds.
TICK_S = 1


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
    """rq-scheduler that keeps the disable pass registered at the right interval."""

    def enqueue_jobs(self):
        register(self)
        return super().enqueue_jobs()


def run_scheduler(redis, burst=False):
    scheduler = HookpoolScheduler(queue_name=queues.MAINTENANCE, connection=redis, interval=TICK_S)
    register(scheduler)
    log.info("scheduler %s starting", scheduler.name)
    scheduler.run(burst=burst)
