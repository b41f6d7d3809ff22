"""Event intake and replay.

    POST /v2/accounts/{ACCOUNT_ID}/events     {"data": EVENT or [EVENT, ...]}  ?event_type=TYPE
    POST /v2/accounts/{ACCOUNT_ID}/replays    {"data": {"delivery_id": ID}}
                                              {"data": {"since_ms": MS, "hook_id": ID (optional)}}

Intake answers 202 only once publishing has returned, that is once every event
of the request is in Redis in a fan-out job: a client that got 202 may forget
the events. A batch is accepted whole or refused whole. Each event belongs to
the account in the path, or to one of its descendants; an event without an
account_id is taken to be the path account's.
"""

import json
import logging

from flask import Blueprint, request

from .. import defaults, replay
from ..errors import ValidationError
from ..events import make_event
from ..publishing import publish
from .access import reach_account, reachable_account_ids, redis, request_data
from .responses import success

log = logging.getLogger(__name__)
blueprint = Blueprint("events", __name__)

MAX_EVENTS_PER_REQUEST = 1000
REPLAY_FIELDS = ("delivery_id", "since_ms", "hook_id")


@blueprint.post("/v2/accounts/<account_id>/events")
def publish_events(account_id):
    account_id = reach_account(account_id)
    data = request_data((dict, list))
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ValidationError("data", [], "holds no events")
    if len(items) > MAX_EVENTS_PER_REQUEST:
        raise ValidationError("data", f"{len(items)} events", f"has more than {MAX_EVENTS_PER_REQUEST}")

    events = _events(items, account_id, request.args.get("event_type"))
    event_ids = publish(redis(), events)

    log.info("%d events accepted for account %s", len(event_ids), account_id)
    return success({"accepted": len(event_ids), "event_ids": event_ids}, 202)


def _events(items, account_id, event_type):
    allowed = reachable_account_ids(account_id)
    events = []
    for index, item in enumerate(items):
        try:
            _check_size(item)
            event = make_event(_with_account(item, account_id), event_type)
        except ValidationError as exc:
            raise ValidationError(_item_field(items, index, exc.field), exc.value, exc.rule) from None
        if event.account_id not in allowed:
            raise ValidationError(_item_field(items, index, "account_id"), event.account_id,
                                  f"is neither account {account_id} nor one of its descendants")
        events.append(event)
    return events


def _check_size(item):
    size = len(json.dumps(item, separators=(",", ":")))
    if size > defaults.MAX_EVENT_BYTES:
        raise ValidationError("event", f"{size} bytes", f"is larger than {defaults.MAX_EVENT_BYTES} bytes")


def _with_account(item, account_id):
    if isinstance(item, dict) and "account_id" not in item:
        return {**item, "account_id": account_id}
    return item


def _item_field(items, index, field):
    return f"[{index}].{field}" if len(items) > 1 else field


@blueprint.post("/v2/accounts/<account_id>/replays")
def replay_deliveries(account_id):
    account_id = reach_account(account_id)
    data = request_data()
    unknown = sorted(set(data) - set(REPLAY_FIELDS))
    if unknown:
        raise ValidationError("field", unknown[0], f"is not understood; send {' or '.join(REPLAY_FIELDS)}")

    if "delivery_id" in data:
        report = replay.replay_delivery(redis(), account_id, data["delivery_id"])
    else:
        report = replay.replay_failed(redis(), account_id, _since_ms(data), hook_id=data.get("hook_id"))
    return success(report.to_dict(), 202)


def _since_ms(data):
    since_ms = data.get("since_ms")
    if since_ms is None:
        raise ValidationError("since_ms", None, "is required without delivery_id: epoch milliseconds")
    if isinstance(since_ms, bool) or not isinstance(since_ms, int) or not 0 <= since_ms <= 2**53:
        raise ValidationError("since_ms", since_ms, "must be a whole number of epoch milliseconds")
    return since_ms
