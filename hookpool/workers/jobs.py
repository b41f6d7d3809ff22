"""The RQ jobs: fan_out turns published events into deliveries; deliver makes one attempt.

A delivery's RQ job id is its delivery id: it stays the same across retries,
which RQ runs as the same job, so receivers can deduplicate on X-Delivery-ID.
Retries go through RQ: a failed attempt with retries left returns rq.Retry
with the backoff delay, and RQ schedules the job again.
"""

import json
import logging
import time
import uuid

import requests
from redis import RedisError, WatchError
from rq import Retry, get_current_job
from rq.exceptions import StopRequested
from rq.timeouts import JobTimeoutException

from .. import attempts, defaults, failures, hooks, keys, queues, settings
from ..config import load_config
from ..errors import CorruptRecord, NotFound
from ..events import Event, hook_wants, payload_for
from ..ids import new_id
from ..publishing import EVENT_ID_FIELD, fan_out_job_data
from . import fairness
from .backoff import retry_delay_s
from .lean import recent
from .recovery import job_timeout_s, rerun_callback
from .sending import build_request, send

log = logging.getLogger(__name__)

DELIVER = "hookpool.workers.jobs.deliver"
SKIPPED = "skipped"
# job.meta key: how many times a delivery was put back by the fairness cap (workers/fairness.py).
DEFERRALS_META_KEY = "hookpool_deferrals"
# Delivery ids of a fan-out are derived from the event's id and the hook id, so
# a fan-out run again after an interruption enqueues the same delivery ids.
DELIVERY_ID_NAMESPACE = uuid.UUID("6f1c2a52-8f0e-4d55-9a43-3b1d5e7c9a10")
# A field of hookpool's own on a fan-out job's rq hash: set in the MULTI that enqueues the job's
# deliveries, and gone with the hash when the job ends (result_ttl 0).
FANNED_OUT_FIELD = "hookpool_fanned_out"

# One keep-alive HTTP session per worker process, made on first use.
_session = None


class DeliveryFailed(Exception):
    """The last allowed attempt of a delivery failed; RQ files the job as failed."""


def http_session():
    global _session
    if _session is None:
        _session = requests.Session()
        # Proxies from the environment would send deliveries somewhere other than the hook's URI.
        _session.trust_env = False
    return _session


def fan_out(events_args):
    """RQ job: enqueue one delivery job for every hook each event of a published batch fires.

    Every delivery of the batch is enqueued in one MULTI at the end, which
    also marks the job as fanned out, so a fan-out run again after an
    interruption enqueues nothing twice. Events whose accounts have many
    hooks could make that MULTI, and the job, huge: once
    FAN_OUT_MAX_DELIVERIES are collected, the events not yet fanned out are
    carried over to a new fan-out job, enqueued in the same MULTI.
    """
    job = get_current_job()
    redis = job.connection
    if redis.hexists(job.key, FANNED_OUT_FIELD):
        log.warning("fan-out %s was interrupted after enqueuing its deliveries; not enqueuing them again", job.id)
        return 0
    batch = _identified_events(events_args, job.id)
    lookups = FanOutLookups(redis)
    delivery_jobs = DeliveryJobs(redis)

    deliveries, set_apart, carried_over = [], [], []
    for index, (event_id, event) in enumerate(batch):
        if len(deliveries) >= defaults.FAN_OUT_MAX_DELIVERIES:
            carried_over = batch[index:]
            log.info("fan-out %s: %d deliveries reached; the other %d events go on in fan-out job %s",
                     job.id, len(deliveries), len(carried_over), carried_over[0][0])
            break
        try:
            wanted = _wanted_hooks(lookups, event, event_id)
        except (RedisError, JobTimeoutException, StopRequested):
            raise  # the worker's trouble, not the event's: the whole batch runs again (workers/recovery.py)
        except Exception:
            if len(batch) == 1:
                raise
            set_apart.append((event_id, event))
            log.exception("event %s: fan-out failed; moved to fan-out job %s of its own",
                          event_id, set_apart_job_id(event_id))
            continue
        deliveries.extend(delivery_jobs.for_hooks(event, wanted, event_id))

    _enqueue_fan_out_results(job, delivery_jobs, deliveries, set_apart, carried_over)
    return len(deliveries)


def _identified_events(events_args, job_id):
    """[(event id, Event)] from a fan-out job's argument.

    A job enqueued by a hookpool that published one event per job carries a
    single event, whose id is the job's.
    """
    if isinstance(events_args, dict):
        return [(job_id, Event.from_job_args(events_args))]
    return [(args[EVENT_ID_FIELD], Event.from_job_args(args)) for args in events_args]


class FanOutLookups:
    """What a batch's events share, read from Redis once per batch: account paths and index candidates.

    Hooks changed while the batch fans out are caught at delivery, which
    reads the hook again.
    """

    def __init__(self, redis):
        self.redis = redis
        self._ancestor_ids = {}
        self._candidates = {}

    def ancestor_ids(self, account_id):
        """The account's ancestors, root first; None if the account is gone."""
        if account_id not in self._ancestor_ids:
            path = self.redis.hget(keys.account(account_id), "path")
            self._ancestor_ids[account_id] = None if path is None else [a for a in path.decode().split(",") if a]
        return self._ancestor_ids[account_id]

    def candidates(self, event, ancestor_ids):
        wanted_by = (event.account_id, event.event_type)
        if wanted_by not in self._candidates:
            self._candidates[wanted_by] = hooks.hooks_for_event(self.redis, event, ancestor_ids)
        return self._candidates[wanted_by]


def _wanted_hooks(lookups, event, event_id):
    ancestor_ids = lookups.ancestor_ids(event.account_id)
    if ancestor_ids is None:
        log.warning("event %s dropped: account %s was deleted after publishing", event_id, event.account_id)
        return []

    candidates = lookups.candidates(event, ancestor_ids)
    wanted = [h for h in candidates if _entitled(h, event, ancestor_ids, event_id) and hook_wants(h, event)]
    log.info("event %s %s in account %s: %d deliveries", event_id, event.event_type, event.account_id, len(wanted))
    return wanted


def set_apart_job_id(event_id):
    """The id of the fan-out job an event is set apart in: its own id may be the running job's."""
    return uuid.uuid5(DELIVERY_ID_NAMESPACE, f"{event_id}/set apart").hex


def _enqueue_fan_out_results(job, delivery_jobs, deliveries, set_apart, carried_over):
    """Enqueue in one MULTI a batch's deliveries, its events set apart (a job each) and those carried over (one job).

    The same MULTI marks the job as fanned out, so that a rerun after an
    interruption between this MULTI and the job's end enqueues nothing twice.
    """
    redis = job.connection
    on_failure = delivery_jobs.on_failure
    events_queue = queues.queue(redis, queues.EVENTS)
    fan_outs = [fan_out_job_data(events_queue, [identified], on_failure, job_id=set_apart_job_id(identified[0]))
                for identified in set_apart]
    if carried_over:
        fan_outs.append(fan_out_job_data(events_queue, carried_over, on_failure))
    with redis.pipeline() as pipe:
        if deliveries:
            delivery_jobs.queue.enqueue_many(deliveries, pipeline=pipe)
        if fan_outs:
            events_queue.enqueue_many(fan_outs, pipeline=pipe)
        pipe.hset(job.key, FANNED_OUT_FIELD, 1)
        pipe.execute()


def _entitled(hook, event, ancestor_ids, event_id):
    """Whether the hook's account may see the event: its own, or a descendant's with include_subaccounts.

    The index sets already say so; this re-check on the loaded hook means a
    stale or corrupt index entry can never carry one tenant's event to another.
    """
    if hook.account_id == event.account_id:
        return True
    if hook.include_subaccounts and hook.account_id in ancestor_ids:
        return True
    log.warning("event %s: skipped hook %s of account %s, indexed for account %s it does not own or contain",
                event_id, hook.id, hook.account_id, event.account_id)
    return False


def enqueue_deliveries(redis, event, wanted_hooks, event_id=None):
    """Enqueue one delivery job per hook; return the delivery ids.

    With event_id (a fan-out), the ids are derived from it, so doing it twice
    gives the same ids; without (a replay), every delivery gets a new id.
    """
    delivery_jobs = DeliveryJobs(redis)
    jobs = delivery_jobs.for_hooks(event, wanted_hooks, event_id)
    if jobs:
        delivery_jobs.queue.enqueue_many(jobs)
    return [job.job_id for job in jobs]


class DeliveryJobs:
    """Makes rq's EnqueueData for delivery jobs; made once per fan-out, as its parts cost more than a job."""

    def __init__(self, redis):
        self.queue = queues.queue(redis, queues.DELIVERIES)
        self.timeout_s = job_timeout_s(load_config().delivery_deadline_s)
        self.on_failure = rerun_callback()

    def for_hooks(self, event, wanted_hooks, event_id=None):
        """One delivery job per hook (ids as enqueue_deliveries says)."""
        return [
            self.queue.prepare_data(
                DELIVER,
                # The hook's account travels with the delivery: a hook id re-created in another account must not get it.
                args=({"hook_id": hook.id, "hook_account_id": hook.account_id, "event": event.to_job_args()},),
                job_id=_delivery_id(event_id, hook.id),
                result_ttl=0,
                failure_ttl=defaults.JOB_FAILURE_TTL_S,
                timeout=self.timeout_s,
                on_failure=self.on_failure,
                # rq's default description is a repr of the whole event, written again for every hook.
                description=f"delivery of {event.event_type} to hook {hook.id}",
            )
            for hook in wanted_hooks
        ]


def _delivery_id(event_id, hook_id):
    if event_id is None:
        return new_id()
    return uuid.uuid5(DELIVERY_ID_NAMESPACE, f"{event_id}/{hook_id}").hex


def deliver(delivery_args):
    """RQ job: one attempt of one delivery; returns Retry while attempts remain."""
    job = get_current_job()
    redis = job.connection
    config = load_config()
    # RQ counts a deferral (fairness cap) as one of its retries; the receiver must not.
    deferrals = int(job.meta.get(DEFERRALS_META_KEY, 0))
    attempt = (job.number_of_retries or 0) - deferrals + 1
    event = Event.from_job_args(delivery_args["event"])

    hook = _current_hook(redis, delivery_args["hook_id"], delivery_args.get("hook_account_id"))
    if hook is None or not hook.enabled:
        log.info("delivery %s skipped: hook %s is %s", job.id, delivery_args["hook_id"],
                 "deleted or unreadable" if hook is None else "disabled")
        return SKIPPED

    lease_s = job.timeout or job_timeout_s(config.delivery_deadline_s)
    if not fairness.claim(redis, hook.id, job.id, config.hook_worker_share, lease_s):
        return _defer(job, hook, deferrals + 1)
    try:
        request = build_request(hook, payload_for(hook, event), job.id, attempt)
        outcome = send(http_session(), request, config.connect_timeout_s, config.delivery_deadline_s)
    finally:
        fairness.release(redis, hook.id, job.id)
    retries_left = max(0, hook.retries - (attempt - 1))
    _record(redis, hook, event, job.id, attempt, retries_left, request, outcome)

    if outcome.ok:
        log.info("delivery %s to hook %s: delivered, HTTP %s in %d ms (try %d)",
                 job.id, hook.id, outcome.status, outcome.elapsed_ms, attempt)
        return outcome.status
    if retries_left > 0:
        delay_s = retry_delay_s(attempt, config.retry_backoff_s, config.retry_backoff_max_s,
                                outcome.retry_after_s, config.retry_after_max_s)
        log.info("delivery %s to hook %s: %s (%s), try %d; retrying in %d s",
                 job.id, hook.id, outcome.kind, outcome.reason, attempt, delay_s)
        return Retry(max=hook.retries + deferrals, interval=[delay_s])
    log.warning("delivery %s to hook %s: %s (%s), try %d; no retries left",
                job.id, hook.id, outcome.kind, outcome.reason, attempt)
    raise DeliveryFailed(f"{outcome.kind}: {outcome.reason}")


def _defer(job, hook, deferrals):
    """Put a delivery over the hook's fairness cap back for later, through RQ; not an attempt."""
    job.meta[DEFERRALS_META_KEY] = deferrals
    job.save_meta()
    delay_s = retry_delay_s(deferrals, defaults.DEFER_BACKOFF_S, defaults.DEFER_BACKOFF_MAX_S)
    log.info("delivery %s to hook %s deferred %d s: the hook holds its share of the workers already",
             job.id, hook.id, delay_s)
    # max lets RQ schedule this one more run whatever number_of_retries has reached.
    return Retry(max=(job.number_of_retries or 0) + 1, interval=[delay_s])


def _current_hook(redis, hook_id, account_id=None):
    """The hook as it is now; None if it was deleted (or its id now names another account's hook)."""
    try:
        return hooks.get_hook(redis, hook_id, account_id=account_id)
    except NotFound:
        return None
    except CorruptRecord as exc:
        # Skipped like a deleted hook, but loudly: an operator has a record to repair.
        log.warning("delivery to hook %s skipped: %s", hook_id, exc)
        return None


def _record(redis, hook, event, delivery_id, attempt, retries_left, request, outcome):
    """Count the failure (if any) and log the attempt, unless the hook was deleted meanwhile.

    The writes are made under WATCH of the hook: had they been made after the
    hook's account was deleted, they would bring back keys of a deleted account.
    """
    now_ms = int(time.time() * 1000)
    # A success after failed tries is always logged: without it, replay would take the delivery for a failed one.
    log_it = (not outcome.ok or attempt > 1
              or recent("log_successful_attempts", redis, settings.log_successful_attempts))
    if not log_it:
        return
    entry = attempt_entry(hook, event, delivery_id, attempt, retries_left, request, outcome, now_ms)
    with redis.pipeline() as pipe:
        while True:
            try:
                pipe.watch(keys.hook(hook.id))
                if not pipe.exists(keys.hook(hook.id)):
                    log.info("delivery %s: hook %s was deleted during the attempt; outcome not recorded",
                             delivery_id, hook.id)
                    return
                pipe.multi()
                if not outcome.ok:
                    failures.record_failure(pipe, hook.id, delivery_id, attempt, now_ms)
                if log_it:
                    attempts.record(pipe, hook.account_id, entry)
                pipe.execute()
                return
            except WatchError:
                continue  # the hook changed (disabled, edited): check again that it still exists


def attempt_entry(hook, event, delivery_id, attempt, retries_left, request, outcome, now_ms):
    limit = defaults.ATTEMPT_BODY_LOG_BYTES
    return {
        "time_ms": now_ms,
        "hook_id": hook.id,
        "account_id": hook.account_id,
        "event_account_id": event.account_id,
        "event": event.event_type,
        "delivery_id": delivery_id,
        "uri": request.url,
        "verb": request.method,
        "request_headers": _without_signature(request.headers),
        "request_body": (request.body or b"")[:limit].decode("utf-8", "replace"),
        "status": outcome.status,
        "response_headers": outcome.response_headers,
        "response_body": outcome.response_body[:limit].decode("utf-8", "replace"),
        "elapsed_ms": outcome.elapsed_ms,
        "try": attempt,
        "retries_left": retries_left,
        "result": outcome.kind,
        "reason": outcome.reason,
        "event_payload": _kept_payload(event.payload),
    }


def _kept_payload(payload):
    """The event as published, for replay; None when it is too large to keep in the log."""
    size = len(json.dumps(payload, separators=(",", ":")))
    return payload if size <= defaults.ATTEMPT_EVENT_LOG_BYTES else None


def _without_signature(headers):
    return {k: v for k, v in headers.items() if k.lower() != "webhook-signature"}
