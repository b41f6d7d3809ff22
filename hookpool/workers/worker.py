"""The worker process: an RQ worker on hookpool's queues, with RQ's scheduler running.

It is rq's SimpleWorker: jobs run in the worker process itself rather than a
forked child, which keeps one Redis connection and one keep-alive HTTP session
for the life of the process (a fork per job costs more than a delivery).
Workers run RQ's scheduler, which moves retries whose backoff has passed back
onto their queue; without it a delayed retry would never run.
"""

import logging
import os
import socket

from rq import SimpleWorker

from .. import defaults, queues
from .jobs import DeliveryFailed
from .lean import LeanJob, LeanQueue, LeanWorkerMixin, enable_recent_values
from .recovery import RecoveringWorkerMixin, keep_working

log = logging.getLogger(__name__)


class HookpoolWorker(RecoveringWorkerMixin, LeanWorkerMixin, SimpleWorker):
    """SimpleWorker with a short lease on running jobs (recovery.py), in fewer Redis round trips (lean.py)."""

    def handle_exception(self, job, *exc_info):
        """A delivery whose last attempt failed is an outcome, not a crash.

        deliver() has logged it in one line already; rq would add an ERROR with
        a traceback. Other exceptions, which are bugs or outages, keep rq's report.
        """
        if isinstance(exc_info[1], DeliveryFailed):
            for handler in self._exc_handlers:
                if handler(job, *exc_info) is False:
                    break
            return
        super().handle_exception(job, *exc_info)


def worker_name(generation=1):
    """The worker's RQ name; a worker started again after losing Redis gets a new one."""
    name = f"hookpool-{socket.gethostname()}-{os.getpid()}"
    return name if generation == 1 else f"{name}-{generation}"


def run_worker(redis, burst=False, logging_level="INFO"):
    """Work until stopped (or, with burst, until the queues are empty). Returns whether jobs ran."""
    # hookpool logs one line per outcome; RQ's own five lines per job are for debugging.
    rq_level = logging_level if logging_level == "DEBUG" else "WARNING"
    enable_recent_values()

    def start(generation):
        worker = HookpoolWorker(
            [queues.queue(redis, name) for name in queues.ALL_QUEUES],
            connection=redis,
            name=worker_name(generation),
            maintenance_interval=defaults.WORKER_MAINTENANCE_INTERVAL_S,
            worker_ttl=defaults.WORKER_TTL_S,
            job_class=LeanJob,
            queue_class=LeanQueue,
        )
        log.info("worker %s starting on %s", worker.name, ", ".join(queues.ALL_QUEUES))
        return worker, worker.work(burst=burst, with_scheduler=True, logging_level=rq_level)

    return keep_working(start, redis)
