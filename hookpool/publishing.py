"""Publishing events: validate, check the accounts exist, and enqueue them in fan-out jobs.

Every event gets an id of its own; publish returns them, in order, and each
delivery id is derived from its event's id. Events published together travel
in shared fan-out jobs of up to FAN_OUT_BATCH_EVENTS events and about
FAN_OUT_BATCH_BYTES of payload (as JSON): what rq spends on a job (a pickle, a zlib pass
and some twenty hash fields) is then paid once per batch rather than once per
event, which makes publishing a large batch several times faster. A fan-out
job's id is the id of its first event, so an event published alone is found
in rq's tools under its own id.

All events of one call are checked before any is enqueued, and every job of
the call is enqueued in one MULTI/EXEC, so a call is accepted whole or not at all.
"""

import logging

from . import defaults, keys, queues
from .errors import ValidationError
from .events import make_event
from .ids import new_id
from .workers.recovery import rerun_callback

log = logging.getLogger(__name__)

FAN_OUT = "hookpool.workers.jobs.fan_out"
EVENT_ID_FIELD = "event_id"


def publish(redis, payloads, event_type=None, account_id=None):
    """Publish payloads (dicts or Events); return the event ids, in order."""
    events = [p if hasattr(p, "event_type") else make_event(p, event_type, account_id) for p in payloads]
    _check_accounts_exist(redis, events)

    batches = fan_out_batches([(new_id(), event) for event in events])
    queue = queues.queue(redis, queues.EVENTS)
    on_failure = rerun_callback()  # one for the call: building rq's Callback costs more than an event's own checks
    jobs = [fan_out_job_data(queue, batch, on_failure) for batch in batches]
    with redis.pipeline() as pipe:
        queue.enqueue_many(jobs, pipeline=pipe)
        pipe.execute()

    log.debug("published %d events in %d fan-out jobs", len(events), len(jobs))
    return [event_id for batch in batches for event_id, _ in batch]


def fan_out_batches(identified_events):
    """Split [(event id, Event)] into batches for fan-out jobs, keeping their order."""
    batches, batch, batch_bytes = [], [], 0
    for event_id, event in identified_events:
        size_bytes = max(event.size_bytes, 1)
        if batch and (len(batch) == defaults.FAN_OUT_BATCH_EVENTS
                      or batch_bytes + size_bytes > defaults.FAN_OUT_BATCH_BYTES):
            batches.append(batch)
            batch, batch_bytes = [], 0
        batch.append((event_id, event))
        batch_bytes += size_bytes
    if batch:
        batches.append(batch)
    return batches


def fan_out_job_data(queue, batch, on_failure, job_id=None):
    """rq's EnqueueData for the fan-out job of batch, [(event id, Event)]; job_id defaults to the first event's id."""
    first_id, first = batch[0]
    return queue.prepare_data(
        FAN_OUT,
        args=([{EVENT_ID_FIELD: event_id, **event.to_job_args()} for event_id, event in batch],),
        job_id=job_id or first_id,
        result_ttl=0,
        failure_ttl=defaults.JOB_FAILURE_TTL_S,
        timeout=defaults.FANOUT_JOB_TIMEOUT_S,
        on_failure=on_failure,
        description=fan_out_description(first, len(batch)),
    )


def fan_out_description(first_event, event_count):
    """What rq's tools show for the job: short, where rq's default repeats every payload (built with repr)."""
    if event_count == 1:
        return f"fan-out of {first_event.event_type} in account {first_event.account_id}"
    return f"fan-out of {event_count} events, the first {first_event.event_type} in account {first_event.account_id}"


def _check_accounts_exist(redis, events):
    account_ids = sorted({event.account_id for event in events})
    with redis.pipeline(transaction=False) as pipe:
        for account_id in account_ids:
            pipe.exists(keys.account(account_id))
        answers = pipe.execute()
    missing = [a for a, found in zip(account_ids, answers) if not found]
    if missing:
        raise ValidationError("account_id", missing[0], "is not a known account")
