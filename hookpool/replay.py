"""Replay: send a logged delivery's event to its hook again, as a new delivery.

A replay gets a new delivery id (and so a new X-Delivery-ID): the operator asked
for the event to arrive again, and a receiver deduplicating on delivery ids
would otherwise drop it. The event comes from the attempts log, which keeps it
for events up to defaults.ATTEMPT_EVENT_LOG_BYTES.

A delivery counts as failed when it has no logged success and its RQ job is no
longer pending: either its retries ran out, or the job is gone (a hook disabled
by the system skips the retries it had left). Deliveries still being retried
are left to finish. Successes that follow failed tries are always logged (see
workers/jobs.py), so a delivery that recovered is never taken for a failed one.
"""

import logging
from dataclasses import dataclass, field

from rq.job import Job, JobStatus

from . import attempts, defaults, hooks
from .errors import NotFound, ValidationError
from .events import Event
from .ids import check_id
from .workers.jobs import enqueue_deliveries

log = logging.getLogger(__name__)

SUCCESS = "success"
PENDING_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


@dataclass
class ReplayReport:
    """replayed: [{delivery_id, replay_id, hook_id}]; skipped: [{delivery_id, hook_id, reason}]."""

    replayed: list = field(default_factory=list)
    skipped: list = field(default_factory=list)

    def to_dict(self):
        return {"replayed": self.replayed, "skipped": self.skipped}


def replay_delivery(redis, account_id, delivery_id):
    """Send one delivery of account_id's hooks again, whatever its outcome was; return the report."""
    delivery_id = check_id("delivery_id", delivery_id)
    entries = [e for e in _entries(redis, account_id) if e.get("delivery_id") == delivery_id]
    if not entries:
        raise NotFound("delivery", delivery_id)

    report = ReplayReport()
    _replay_one(redis, account_id, entries[0], report)
    if report.skipped:
        reason = report.skipped[0]["reason"]
        raise ValidationError("delivery_id", delivery_id, f"cannot be replayed: {reason}")
    return report


def replay_failed(redis, account_id, since_ms, hook_id=None):
    """Send again every failed delivery of account_id's hooks (or of one hook) logged since since_ms."""
    if hook_id is not None:
        hook_id = hooks.get_hook(redis, hook_id, account_id=account_id).id
    newest = _newest_entry_per_delivery(_entries(redis, account_id, hook_id, since_ms))
    failed = [e for e in newest.values() if e.get("result") != SUCCESS]
    still_pending = _pending_delivery_ids(redis, [e["delivery_id"] for e in failed])

    report = ReplayReport()
    for entry in failed:
        if entry["delivery_id"] not in still_pending:
            _replay_one(redis, account_id, entry, report)
    log.info("replayed %d failed deliveries of account %s since %s; %d skipped",
             len(report.replayed), account_id, since_ms, len(report.skipped))
    return report


def _entries(redis, account_id, hook_id=None, since_ms=None):
    return attempts.read(redis, account_id, hook_id=hook_id, since_ms=since_ms,
                         limit=defaults.ATTEMPTS_MAX_PER_ACCOUNT)


def _newest_entry_per_delivery(entries):
    """{delivery id: its newest entry}, except deliveries that had a success. Entries come newest first."""
    newest, succeeded = {}, set()
    for entry in entries:
        delivery_id = entry.get("delivery_id")
        if entry.get("result") == SUCCESS:
            succeeded.add(delivery_id)
        newest.setdefault(delivery_id, entry)
    return {d: e for d, e in newest.items() if d not in succeeded}


def _pending_delivery_ids(redis, delivery_ids):
    """The deliveries whose RQ job is still queued, running or waiting for a retry."""
    jobs = Job.fetch_many(delivery_ids, connection=redis) if delivery_ids else []
    return {job.id for job in jobs if job is not None and job.get_status(refresh=False) in PENDING_STATUSES}


def _replay_one(redis, account_id, entry, report):
    delivery_id, hook_id = entry["delivery_id"], entry["hook_id"]
    reason = _why_not_replayable(redis, account_id, entry)
    if reason:
        report.skipped.append({"delivery_id": delivery_id, "hook_id": hook_id, "reason": reason})
        return

    event = Event(entry["event_account_id"], entry["event"], entry["event_payload"])
    hook = hooks.get_hook(redis, hook_id)
    [replay_id] = enqueue_deliveries(redis, event, [hook])
    report.replayed.append({"delivery_id": delivery_id, "replay_id": replay_id, "hook_id": hook_id})
    log.info("delivery %s to hook %s replayed as delivery %s", delivery_id, hook_id, replay_id)


def _why_not_replayable(redis, account_id, entry):
    if entry.get("event_payload") is None:
        return (f"its event was not kept (larger than {defaults.ATTEMPT_EVENT_LOG_BYTES} bytes, "
                "or logged by an older hookpool)")
    try:
        hook = hooks.get_hook(redis, entry["hook_id"], account_id=account_id)
    except NotFound:
        return "its hook was deleted"
    if not hook.enabled:
        return "its hook is disabled; enable it first"
    return None
