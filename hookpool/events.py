"""Event types, event validation, and which hooks an event fires.

An event is a JSON object naming its account (account_id) and its type
(hook_event, as Kazoo's call events do; other payloads take the type from the
publisher). Fan-out: the account's own hooks for the type or `all`, plus each
ancestor's hooks that include subaccounts. Nothing reaches another tenant.
"""

import json
import math
import re
from dataclasses import dataclass, field

from . import defaults
from .errors import ValidationError
from .ids import check_id

EVENT_TYPES = (
    "channel_create",
    "channel_answer",
    "channel_bridge",
    "channel_destroy",
    "object",
    "notifications",
    "parking",
)
ALL = "all"
INDEXED_EVENT_TYPES = EVENT_TYPES + (ALL,)

OBJECT_ACTIONS = ("doc_created", "doc_edited", "doc_deleted")


def normalize_event_type(value, field="hook", allow_all=True):
    """Lower-case an event type name (Kazoo accepts CHANNEL_CREATE too) and check it."""
    known = INDEXED_EVENT_TYPES if allow_all else EVENT_TYPES
    if not isinstance(value, str) or value.lower() not in known:
        raise ValidationError(field, value, f"is not an event type; known types: {', '.join(known)}")
    return value.lower()


@dataclass(frozen=True)
class Event:
    account_id: str
    event_type: str
    payload: dict
    # The payload's size as compact, ASCII-escaped JSON, in bytes, for sizing fan-out batches; 0 when not measured.
    size_bytes: int = field(default=0, compare=False)

    def to_job_args(self):
        return {"account_id": self.account_id, "event_type": self.event_type, "payload": self.payload}

    @classmethod
    def from_job_args(cls, args):
        return cls(args["account_id"], args["event_type"], args["payload"])


def make_event(payload, event_type=None, account_id=None):
    """Validate one published payload and return it as an Event.

    event_type names the type for payloads that do not carry hook_event;
    account_id, when given, replaces the payload's own account_id.
    """
    if not isinstance(payload, dict):
        raise ValidationError("event", _short(payload), "is not a JSON object")
    size_bytes = _checked_size_bytes(payload)

    if account_id is not None:
        payload = {**payload, "account_id": account_id}
    if "account_id" not in payload:
        raise ValidationError("account_id", None, "is missing from the event")
    account = check_id("account_id", payload["account_id"])

    named = payload.get("hook_event")
    if named is not None:
        named = normalize_event_type(named, "hook_event", allow_all=False)
    given = normalize_event_type(event_type, "event type", allow_all=False) if event_type else None
    if named and given and named != given:
        raise ValidationError("hook_event", payload["hook_event"], f"contradicts the event type given, {given!r}")
    if not (named or given):
        raise ValidationError("hook_event", None, "is missing; name the event type (publish --event TYPE)")

    return Event(account, named or given, payload, size_bytes)


def parse_event_text(text, event_type=None, account_id=None):
    """Parse one JSON text (an object or an array of objects) into Events.

    The whole text may hold up to MAX_INPUT_BYTES; each event in it up to MAX_EVENT_BYTES.
    """
    check_input_size(len(text.encode("utf-8", "surrogatepass")))
    document = load_json(text, "event")
    if not isinstance(document, list):
        check_event_size(len(text.encode("utf-8", "surrogatepass")))
        return [make_event(document, event_type, account_id)]
    return [make_event(_sized(item, index), event_type, account_id) for index, item in enumerate(document)]


def check_input_size(size_bytes, field="input"):
    if size_bytes > defaults.MAX_INPUT_BYTES:
        raise ValidationError(field, f"{size_bytes} bytes",
                              f"is larger than the limit for a whole input, {defaults.MAX_INPUT_BYTES} bytes")


def check_event_size(size_bytes, field="event"):
    if size_bytes > defaults.MAX_EVENT_BYTES:
        raise ValidationError(field, f"{size_bytes} bytes",
                              f"is larger than the limit for one event, {defaults.MAX_EVENT_BYTES} bytes")


def _sized(item, index):
    """item, once its size as compact JSON is within the one-event limit."""
    try:
        size_bytes = len(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):
        return item  # too deep to measure: make_event names what is wrong with it
    check_event_size(size_bytes, f"event[{index}]")
    return item


def load_json(text, field):
    """json.loads, with every way it can refuse text turned into one ValidationError naming field."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(field, _short(text), f"is not valid JSON ({exc})") from None
    except RecursionError:
        raise ValidationError(field, None, "nests too deeply to be read as JSON") from None
    except ValueError:
        # The only other ValueError json raises: an integer past Python's 4300-digit conversion limit.
        raise ValidationError(field, None, "holds a number with too many digits") from None


class _Unsure(Exception):
    """The quick check met something it leaves to the thorough one."""


def _checked_size_bytes(payload):
    """Check payload as _check_value does; return its size as compact, ASCII-escaped JSON, in bytes.

    Publishing checks every event, so the common case gets a quick check: no
    path strings built, ASCII strings never searched for surrogates. Anything
    it is unsure of goes to _check_value, which names what is wrong.
    """
    try:
        _quick_check(payload, 0)
    except _Unsure:
        _check_value(payload)

    try:
        return len(json.dumps(payload, separators=(",", ":")))
    except ValueError as exc:
        # What the checks let through and json still refuses: an integer past Python's 4300-digit limit.
        raise ValidationError("event", None, f"cannot be written as JSON ({exc})") from None


def _quick_check(value, depth):
    """Return if value is certainly valid; raise _Unsure if _check_value should look."""
    if depth >= defaults.MAX_EVENT_DEPTH:
        raise _Unsure
    if type(value) is dict:
        items = value.items()
    elif type(value) is list:
        items = enumerate(value)
    else:
        raise _Unsure

    for key, item in items:
        if type(key) is str:
            _quick_check_text(key)
        elif type(key) is not int or type(value) is not list:
            raise _Unsure
        kind = type(item)
        if kind is str:
            _quick_check_text(item)
        elif kind is int or kind is bool or item is None:
            continue
        elif kind is float and math.isfinite(item):
            continue
        else:
            _quick_check(item, depth + 1)


def _quick_check_text(text):
    if not text.isascii() and _LONE_SURROGATE.search(text):
        raise _Unsure


def _check_value(value, path="event", depth=0):
    """Refuse what no receiver could be sent: deep nesting, non-JSON types, NaN, infinities, lone surrogates.

    Python's json module reads NaN, Infinity and 1e999 without complaint, and
    "\\ud800" as a lone surrogate, which cannot be encoded as UTF-8; checked here,
    they are refused when published instead of failing every delivery.
    """
    if depth > defaults.MAX_EVENT_DEPTH:
        raise ValidationError("event", "...", f"nests deeper than {defaults.MAX_EVENT_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or _LONE_SURROGATE.search(key):
                raise ValidationError(path, _short(key), "has a key that is not a valid Unicode string")
            _check_value(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, f"{path}[{index}]", depth + 1)
    elif isinstance(value, str):
        if _LONE_SURROGATE.search(value):
            raise ValidationError(path, _short(value), "holds a lone surrogate, which is not valid Unicode")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(path, value, "is not a finite number (JSON has no NaN or infinity)")
    elif value is not None and not isinstance(value, (bool, int)):
        raise ValidationError(path, _short(value), f"is a {type(value).__name__}, which JSON cannot carry")


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _short(value, limit=60):
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def hook_wants(hook, event):
    """Whether an enabled hook, found in the index for this event, should fire for it.

    The index already settled type and tenancy; this applies what the index cannot:
    enabled, internal legs and the modifiers of notifications and object hooks.
    """
    if not hook.enabled:
        return False
    if not hook.include_internal_legs and event.payload.get("is_internal_leg") is True:
        return False
    return _modifiers_match(hook, event)


def _modifiers_match(hook, event):
    if hook.hook != event.event_type and hook.hook != ALL:
        return False
    if event.event_type == "notifications" and hook.hook == "notifications":
        wanted = hook.custom_data.get("type", ALL)
        return wanted == ALL or wanted == event.payload.get("event_name")
    if event.event_type == "object" and hook.hook == "object":
        wanted_type = hook.custom_data.get("type", ALL)
        wanted_action = hook.custom_data.get("action", ALL)
        return (wanted_type in (ALL, event.payload.get("type"))
                and wanted_action in (ALL, event.payload.get("action")))
    return True


# custom_data keys that select events rather than add to the payload.
MODIFIER_KEYS = {"notifications": ("type",), "object": ("type", "action")}


def payload_for(hook, event):
    """The body a hook receives: the event with the hook's custom_data merged over it."""
    skipped = MODIFIER_KEYS.get(hook.hook, ())
    extra = {k: v for k, v in hook.custom_data.items() if k not in skipped}
    return {**event.payload, **extra} if extra else event.payload
