"""Is the system running? Queues, workers, scheduler, disable pass and hooks, in one report.

Read by `hookpool status` (and any other front end that wants a health check).
Every role must be alive somewhere: a worker (fan-out, delivery, retries) and a
scheduler (which enqueues the disable pass). A missing one is a problem, and so
is a disable pass that has stopped running while it is scheduled.
"""

import os
import socket
import time
from dataclasses import asdict, dataclass, field

from redis.exceptions import ResponseError
from rq import Queue, Worker
from rq_scheduler import Scheduler

from . import keys, maintenance, queues
from .hooks import DISABLED_BY_SYSTEM
from .scheduler import schedule

# A pass counts as stalled when it has missed this many of its runs, plus slack for a slow pass.
STALLED_AFTER_INTERVALS = 3
STALLED_SLACK_S = 60


@dataclass
class QueueDepth:
    name: str
    queued: int
    running: int
    retry_waiting: int
    failed: int


@dataclass
class WorkerState:
    name: str
    hostname: str
    pid: int
    state: str
    queues: list


@dataclass
class HealthReport:
    redis_location: str
    redis_version: str
    queues: list
    workers: list
    schedulers: list
    disable_pass_interval_s: int | None
    disable_pass_last: dict
    hooks_enabled: int
    hooks_disabled_by_system: int
    hooks_disabled_by_operator: int
    accounts: int
    problems: list = field(default_factory=list)

    @property
    def healthy(self):
        return not self.problems

    def to_dict(self):
        return {**asdict(self), "healthy": self.healthy}


def check(redis, redis_location, now_ms=None):
    """Gather the report and name its problems."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    enabled, by_system, by_operator = hook_counts(redis)
    report = HealthReport(
        redis_location=redis_location,
        redis_version=server_version(redis),
        queues=queue_depths(redis),
        workers=live_workers(redis),
        schedulers=live_schedulers(redis),
        disable_pass_interval_s=schedule.registered_interval(Scheduler(queue_name=queues.MAINTENANCE,
                                                                       connection=redis)),
        disable_pass_last=maintenance.disable_pass_last_run(redis),
        hooks_enabled=enabled,
        hooks_disabled_by_system=by_system,
        hooks_disabled_by_operator=by_operator,
        accounts=redis.scard(keys.ACCOUNTS),
    )
    report.problems = problems(report, now_ms)
    return report


def server_version(redis):
    try:
        return str(redis.info("server").get("redis_version", "?"))
    except ResponseError:
        return "?"  # some hosted Redis services (and fakeredis) refuse INFO


def problems(report, now_ms):
    found = []
    if not report.workers:
        found.append("no worker is alive (start one: hookpool worker)")
    if not report.schedulers:
        found.append("no scheduler is alive (start one: hookpool scheduler)")
    last_ms = report.disable_pass_last.get("time_ms")
    if report.disable_pass_interval_s and last_ms:
        stalled_after_s = STALLED_AFTER_INTERVALS * report.disable_pass_interval_s + STALLED_SLACK_S
        age_s = (now_ms - last_ms) // 1000
        if age_s > stalled_after_s:
            found.append(f"the disable pass last ran {age_s} s ago, though scheduled every "
                         f"{report.disable_pass_interval_s} s")
    return found


def queue_depths(redis):
    depths = []
    for name in queues.ALL_QUEUES:
        queue = Queue(name, connection=redis)
        depths.append(QueueDepth(name, queue.count, queue.started_job_registry.count,
                                 queue.scheduled_job_registry.count, queue.failed_job_registry.count))
    return depths


def live_workers(redis):
    """Registered workers on hookpool's queues whose process, where we can see it, still runs.

    rq drops a worker's registration only when its key expires (minutes after
    a SIGKILL); on this host we check the pid at once.
    Shortcoming: a killed worker on another host counts as alive until then;
    a heartbeat age check tuned to rq's worker_ttl would catch it sooner.
    """
    this_host = socket.gethostname()
    found = []
    for worker in Worker.all(connection=redis):
        served = [q for q in worker.queue_names() if q in queues.ALL_QUEUES]
        if not served or (worker.hostname == this_host and not _pid_runs(worker.pid)):
            continue
        found.append(WorkerState(worker.name, worker.hostname, worker.pid, str(worker.get_state()), served))
    return sorted(found, key=lambda w: w.name)


def _pid_runs(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    return not _is_zombie(pid)


def _is_zombie(pid):
    """A killed process its parent has not reaped yet still answers kill(pid, 0); Linux shows it as Z."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def live_schedulers(redis):
    """Names of rq-scheduler processes whose registration has not expired nor recorded a death.

    rq-scheduler refreshes its key's expiry (tick + 10 s) on every tick, so a
    killed scheduler disappears from this list within seconds.
    """
    prefix = Scheduler.redis_scheduler_namespace_prefix
    found = []
    for key in redis.scan_iter(match=prefix + "*", count=100):
        if redis.exists(key) and not redis.hexists(key, "death"):
            found.append(key.decode()[len(prefix):])
    return sorted(found)


def hook_counts(redis):
    """(enabled, disabled by the system, disabled otherwise), over every hook.

    Reads two fields of every hook: fine for tens of thousands, slow beyond.
    Shortcoming: counters kept beside the hooks would make this one read.
    """
    with redis.pipeline(transaction=False) as pipe:
        for account_id in redis.smembers(keys.ACCOUNTS):
            pipe.smembers(keys.account_hooks(account_id.decode()))
        hook_ids = [m.decode() for members in pipe.execute() for m in members]

    with redis.pipeline(transaction=False) as pipe:
        for hook_id in hook_ids:
            pipe.hmget(keys.hook(hook_id), "enabled", "disabled_by")
        states = [s for s in pipe.execute() if s[0] is not None]
    enabled = sum(1 for flag, _ in states if flag == b"1")
    by_system = sum(1 for flag, who in states if flag != b"1" and who == DISABLED_BY_SYSTEM.encode())
    return enabled, by_system, len(states) - enabled - by_system
