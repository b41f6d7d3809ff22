"""Publishing events: validate, check the accounts exist, and enqueue one fan-out job each.

All events of one call are checked before any is enqueued, and they are
enqueued in one MULTI/EXEC, so a batch is accepted whole or not at all.
"""

import logging

from . import defaults, keys, queues
from .errors import ValidationError
from .events import make_event
from .workers.recovery import rerun_callback

log = logging.getLogger(__name__)

FAN_OUT = "hookpool.workers.jobs.fan_out"


def publish(redis, payloads, event_type=None, account_id=None):
    """Publish payloads (dicts or Events); return the fan-out job ids, in order."""
    events = [p if hasattr(p, "event_type") else make_event(p, event_type, account_id) for p in payloads]
    _check_accounts_exist(redis, events)

    queue = queues.queue(redis, queues.EVENTS)
    on_failure = rerun_callback()  # one for the batch: building rq's Callback costs more than the event's own checks
    jobs = [
        queue.prepare_data(FAN_OUT, args=(event.to_job_args(),), result_ttl=0,
                           failure_ttl=defaults.JOB_FAILURE_TTL_S, timeout=defaults.FANOUT_JOB_TIMEOUT_S,
                           on_failure=on_failure, description=fan_out_description(event))
        for event in events
    ]
    with redis.pipeline() as pipe:
        enqueued = queue.enqueue_many(jobs, pipeline=pipe)
        pipe.execute()
    log.debug("published %d events", len(enqueued))
    return [job.id for job in enqueued]


def fan_out_description(event):
    """What rq's tools show for the job: short, where rq's default repeats the whole payload (a second copy, built with repr)."""
    return f"fan-out of {event.event_type} in account {event.account_id}"


def _check_accounts_exist(redis, events):
    account_ids = sorted({event.account_id for event in events})
    with redis.pipeline(transaction=False) as pipe:
        for account_id in account_ids:
            pipe.exists(keys.account(account_id))
        answers = pipe.execute()
    missing = [a for a, found in zip(account_ids, answers) if not found]
    if missing:
        raise ValidationError("account_id", missing[0], "is not a known account")
