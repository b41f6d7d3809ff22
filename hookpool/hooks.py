"""Hooks: their fields, validation, storage and the fan-out index.

A hook is one Redis hash (keys.hook). Alongside it, the hook id sits in its
account's set of hooks and in one index set per (account, event type): the
account's own events, and, for hooks that include subaccounts, its
descendants' events. Every write that touches a hook and its index runs in one
MULTI/EXEC, so a reader never sees one without the other.
"""

import base64
import json
import logging
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import unquote, urlsplit

from redis.exceptions import WatchError

from . import accounts, defaults, destinations, keys
from .errors import CorruptRecord, NotFound, ValidationError
from .events import ALL, INDEXED_EVENT_TYPES, OBJECT_ACTIONS, normalize_event_type
from .ids import check_id, new_id
from .text import check_label, require_utf8

log = logging.getLogger(__name__)

HTTP_VERBS = ("get", "post", "put")
FORMATS = ("form-data", "json")
SECRET_PREFIX = "whsec_"
DISABLED_BY_OPERATOR = "operator"
DISABLED_BY_SYSTEM = "system"
TOO_MANY_FAILURES = "too many failed attempts"

# Fields a caller may set; the rest are kept by the system.
EDITABLE = (
    "name", "uri", "http_verb", "hook", "retries", "format", "enabled",
    "include_subaccounts", "include_internal_legs", "custom_data",
)
_CONTROL_CHARS = re.compile(r"[\x00-\x20\x7f]")


@dataclass
class Hook:
    id: str
    account_id: str
    name: str
    uri: str
    hook: str
    http_verb: str = defaults.HOOK_HTTP_VERB
    retries: int = defaults.HOOK_RETRIES
    format: str = defaults.HOOK_FORMAT
    enabled: bool = True
    include_subaccounts: bool = False
    include_internal_legs: bool = True
    custom_data: dict = field(default_factory=dict)
    secret: str = ""
    disabled_by: str = ""
    disabled_reason: str = ""
    created_ms: int = 0
    modified_ms: int = 0

    def to_dict(self):
        """The hook as shown to operators: every field but the secret, which is never shown again."""
        shown = asdict(self)
        del shown["secret"]
        shown["signed"] = bool(self.secret)
        return shown

    def to_hash(self):
        return {
            **{k: v for k, v in asdict(self).items() if k != "custom_data"},
            "custom_data": json.dumps(self.custom_data, sort_keys=True),
            "enabled": int(self.enabled),
            "include_subaccounts": int(self.include_subaccounts),
            "include_internal_legs": int(self.include_internal_legs),
        }

    @classmethod
    def from_hash(cls, raw, hook_id="?"):
        """The hook stored in raw (a Redis hash); CorruptRecord, naming hook and field, if it is unusable.

        Records are checked as strictly as input is, short of resolving the URI's
        host: a record written straight into Redis must not crash a fan-out.
        """
        try:
            text = {k.decode(): v.decode() for k, v in raw.items()}
            return cls._from_text(text, hook_id)
        except UnicodeDecodeError:
            raise CorruptRecord("hook", hook_id, "it holds bytes that are not UTF-8") from None
        except ValidationError as exc:
            raise CorruptRecord("hook", hook_id, str(exc)) from None

    @classmethod
    def _from_text(cls, text, hook_id):
        stored_id = check_id("id", _stored(text, "id"))
        if hook_id != "?" and stored_id != hook_id:
            raise ValidationError("id", stored_id, f"does not match the key it is stored under ({hook_id})")
        secret = text.get("secret", "")
        return cls(
            id=stored_id,
            account_id=check_id("account_id", _stored(text, "account_id")),
            name=_check_name(_stored(text, "name")),
            uri=_check_stored_uri(_stored(text, "uri")),
            hook=normalize_event_type(_stored(text, "hook")),
            http_verb=_check_choice("http_verb", _stored(text, "http_verb"), HTTP_VERBS),
            retries=_check_retries(_stored_int(text, "retries")),
            format=_check_choice("format", _stored(text, "format"), FORMATS),
            enabled=_stored_bool(text, "enabled"),
            include_subaccounts=_stored_bool(text, "include_subaccounts"),
            include_internal_legs=_stored_bool(text, "include_internal_legs"),
            custom_data=_check_custom_data(_stored_json(text, "custom_data")),
            secret=check_secret(secret) if secret else "",
            disabled_by=text.get("disabled_by", ""),
            disabled_reason=text.get("disabled_reason", ""),
            created_ms=_stored_int(text, "created_ms", 0),
            modified_ms=_stored_int(text, "modified_ms", 0),
        )

    def index_keys(self):
        """The index sets this hook belongs to."""
        found = [keys.own_event_index(self.account_id, self.hook)]
        if self.include_subaccounts:
            found.append(keys.descendant_event_index(self.account_id, self.hook))
        return found


# --- validation -----------------------------------------------------------

def _stored(text, name):
    if name not in text:
        raise ValidationError(name, None, "is missing")
    return text[name]


def _stored_int(text, name, default=None):
    value = text.get(name, default) if default is not None else _stored(text, name)
    try:
        return int(value)
    except ValueError:
        raise ValidationError(name, value, "is not a whole number") from None


def _stored_bool(text, name):
    value = _stored(text, name)
    if value not in ("0", "1"):
        raise ValidationError(name, value, "must be 1 or 0")
    return value == "1"


def _stored_json(text, name):
    value = _stored(text, name)
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        raise ValidationError(name, value[:40], "is not valid JSON") from None


def _check_stored_uri(value):
    """check_uri without its DNS lookup, which is too slow for every read; sending checks again."""
    parts = urlsplit(value) if value.isascii() and not _CONTROL_CHARS.search(value) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("uri", value[:80], "must be an absolute http or https URL")
    return value


def check_uri(value):
    if not isinstance(value, str) or not value:
        raise ValidationError("uri", value, "must be an absolute http or https URL")
    if len(value) > defaults.MAX_URI_LENGTH:
        raise ValidationError("uri", value[:40] + "...", f"is longer than {defaults.MAX_URI_LENGTH} characters")
    if _CONTROL_CHARS.search(value) or not value.isascii():
        raise ValidationError("uri", value, "has spaces, control or non-ASCII characters; percent-encode them")
    try:
        parts = urlsplit(value)
        parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise ValidationError("uri", value, f"is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("uri", value, "must be an absolute http or https URL")
    if parts.fragment or value.endswith("#"):
        raise ValidationError("uri", value, "must not have a #fragment (it is never sent)")
    # Deliveries check again when connecting; this only turns a hopeless hook away early.
    refusal = destinations.refusal_for_host(unquote(parts.hostname))
    if refusal:
        raise ValidationError("uri", value, f"is refused: {refusal}; {refusal.how_to_allow}")
    return value


def _check_choice(name, value, choices):
    if not isinstance(value, str) or value.lower() not in choices:
        raise ValidationError(name, value, f"must be one of {', '.join(choices)}")
    return value.lower()


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise ValidationError(name, value, "must be true or false")
    return value


def _check_retries(value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("retries", value, "must be a whole number")
    if not 0 <= value <= defaults.MAX_HOOK_RETRIES:
        raise ValidationError("retries", value, f"must be between 0 and {defaults.MAX_HOOK_RETRIES}")
    return value


def _check_name(value):
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("name", value, "must not be empty")
    if len(value) > defaults.MAX_NAME_LENGTH:
        raise ValidationError("name", value[:40] + "...", f"is longer than {defaults.MAX_NAME_LENGTH} characters")
    return check_label("name", value.strip())


def _check_custom_data(value):
    if not isinstance(value, dict):
        raise ValidationError("custom_data", value, "must be an object of strings")
    if len(value) > defaults.MAX_CUSTOM_DATA_ITEMS:
        raise ValidationError("custom_data", f"{len(value)} items", f"has more than {defaults.MAX_CUSTOM_DATA_ITEMS}")
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise ValidationError("custom_data", key, "keys must be non-empty strings")
        check_label("custom_data", key)
        if not isinstance(item, str):
            raise ValidationError(f"custom_data.{key}", item, "must be a string")
        require_utf8(f"custom_data.{key}", item)
        if len(item) > defaults.MAX_CUSTOM_DATA_VALUE_LENGTH:
            raise ValidationError(f"custom_data.{key}", item[:40] + "...",
                                  f"is longer than {defaults.MAX_CUSTOM_DATA_VALUE_LENGTH} characters")
    return dict(value)


def _check_modifiers(event_type, custom_data):
    """notifications hooks name their notification; object hooks their document type and action."""
    if event_type == "notifications" and not custom_data.get("type"):
        raise ValidationError("custom_data.type", None,
                              "is required for notifications hooks: a notification name such as voicemail_new, or all")
    if event_type == "object":
        if not custom_data.get("type"):
            raise ValidationError("custom_data.type", None,
                                  "is required for object hooks: a document type such as user or device, or all")
        action = custom_data.get("action")
        choices = f"{', '.join(OBJECT_ACTIONS)}, all"
        if action is None:
            raise ValidationError("custom_data.action", None, f"is required for object hooks: one of {choices}")
        if action not in OBJECT_ACTIONS + (ALL,):
            raise ValidationError("custom_data.action", action, f"must be one of {choices}")


CHECKS = {
    "name": _check_name,
    "uri": check_uri,
    "http_verb": lambda v: _check_choice("http_verb", v, HTTP_VERBS),
    "hook": lambda v: normalize_event_type(v, "hook"),
    "retries": _check_retries,
    "format": lambda v: _check_choice("format", v, FORMATS),
    "enabled": lambda v: _check_bool("enabled", v),
    "include_subaccounts": lambda v: _check_bool("include_subaccounts", v),
    "include_internal_legs": lambda v: _check_bool("include_internal_legs", v),
    "custom_data": _check_custom_data,
}


def validate_fields(fields):
    """Check and normalise caller-supplied fields; unknown fields are an error."""
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise ValidationError("field", unknown[0], f"is not a hook field; fields are: {', '.join(EDITABLE)}")
    return {name: CHECKS[name](value) for name, value in fields.items()}


def check_secret(value):
    """A Standard Webhooks secret: whsec_ followed by base64 of 24 to 64 random bytes."""
    if not isinstance(value, str) or not value.startswith(SECRET_PREFIX):
        raise ValidationError("secret", "(hidden)", f"must start with {SECRET_PREFIX}")
    try:
        raw = base64.b64decode(value[len(SECRET_PREFIX):], validate=True)
    except ValueError:
        raise ValidationError("secret", "(hidden)", "is not valid base64 after whsec_") from None
    if not 24 <= len(raw) <= 64:
        raise ValidationError("secret", "(hidden)", "must encode 24 to 64 bytes")
    return value


def new_secret():
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


# --- storage --------------------------------------------------------------

def create_hook(redis, account_id, fields, secret=None, hook_id=None, now_ms=None):
    """Validate fields and store a new hook of account_id; return it."""
    account = accounts.get_account(redis, account_id)
    hook = build_hook(account.id, fields, secret=secret, hook_id=hook_id, now_ms=now_ms)
    hook_key, account_key = keys.hook(hook.id), keys.account(account.id)

    with redis.pipeline() as pipe:
        while True:
            try:
                # WATCH: had another account taken this hook id, or this account been deleted,
                # since we looked, the hook would overwrite another tenant's or belong to nobody.
                pipe.watch(hook_key, account_key)
                if pipe.exists(hook_key):
                    raise ValidationError("id", hook.id, "is already a hook")
                if not pipe.exists(account_key):
                    raise NotFound("account", account.id)
                pipe.multi()
                queue_create(pipe, hook)
                pipe.execute()
                return hook
            except WatchError:
                continue


def build_hook(account_id, fields, secret=None, hook_id=None, now_ms=None):
    """A new, validated Hook of account_id, not yet stored (nor checked against Redis)."""
    for required in ("name", "uri", "hook"):
        if fields.get(required) in (None, ""):
            raise ValidationError(required, fields.get(required), "is required")
    checked = validate_fields(fields)
    _check_modifiers(checked["hook"], checked.get("custom_data", {}))
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms

    hook = Hook(
        id=check_id("id", hook_id) if hook_id else new_id(),
        account_id=account_id,
        secret=check_secret(secret) if secret else "",
        created_ms=now_ms,
        modified_ms=now_ms,
        **checked,
    )
    if not hook.enabled:
        hook.disabled_by = DISABLED_BY_OPERATOR
    return hook


def queue_create(pipe, hook):
    """Queue, on pipe, the writes that store a new hook with its index entries."""
    pipe.hset(keys.hook(hook.id), mapping=hook.to_hash())
    pipe.sadd(keys.account_hooks(hook.account_id), hook.id)
    for index_key in hook.index_keys():
        pipe.sadd(index_key, hook.id)


def get_hook(redis, hook_id, account_id=None):
    """Load a hook; with account_id, a hook of another account is reported as not found."""
    hook_id = check_id("hook", hook_id)
    raw = redis.hgetall(keys.hook(hook_id))
    if not raw:
        raise NotFound("hook", hook_id)
    hook = Hook.from_hash(raw, hook_id)
    if account_id is not None and hook.account_id != account_id:
        raise NotFound("hook", hook_id)
    return hook


def load_hooks(redis, hook_ids):
    """Load many hooks in one round trip, skipping ids that no longer exist and corrupt records (logged)."""
    hook_ids = list(hook_ids)
    with redis.pipeline(transaction=False) as pipe:
        for hook_id in hook_ids:
            pipe.hgetall(keys.hook(hook_id))
        raws = pipe.execute()
    found = []
    for hook_id, raw in zip(hook_ids, raws):
        if not raw:
            continue
        try:
            found.append(Hook.from_hash(raw, hook_id))
        except CorruptRecord as exc:
            log.warning("hook %s skipped: %s", hook_id, exc)
    return found


def list_hooks(redis, account_id=None):
    """Hooks of one account, or of every account; sorted by account, then name."""
    if account_id is not None:
        account_ids = [accounts.get_account(redis, account_id).id]
    else:
        account_ids = sorted(i.decode() for i in redis.smembers(keys.ACCOUNTS))
    with redis.pipeline(transaction=False) as pipe:
        for each in account_ids:
            pipe.smembers(keys.account_hooks(each))
        hook_ids = [m.decode() for members in pipe.execute() for m in members]
    return sorted(load_hooks(redis, hook_ids), key=lambda h: (h.account_id, h.name, h.id))


def update_hook(redis, hook_id, fields, now_ms=None):
    """Change some fields of a hook; the whole result is validated before anything is written.

    The hook is read and rewritten under WATCH, so a concurrent change (the
    disable pass, another operator) is never silently overwritten: we re-read
    and apply the fields again.
    """
    checked = validate_fields(fields)
    hook_key = keys.hook(check_id("hook", hook_id))
    with redis.pipeline() as pipe:
        while True:
            try:
                pipe.watch(hook_key)
                old = get_hook(pipe, hook_id)
                new = _updated(old, checked, now_ms)
                pipe.multi()
                _queue_replace(pipe, old, new)
                pipe.execute()
                return new
            except WatchError:
                continue


def _updated(old, checked, now_ms):
    new = Hook(**{**asdict(old), **checked})
    _check_modifiers(new.hook, new.custom_data)
    if "enabled" in checked and checked["enabled"] != old.enabled:
        new.disabled_by, new.disabled_reason = ("", "") if new.enabled else (DISABLED_BY_OPERATOR, "")
    elif checked.get("enabled") is False and old.disabled_by != DISABLED_BY_OPERATOR:
        # The operator disabling a hook the system disabled takes it over: enable_* must now leave it alone.
        new.disabled_by, new.disabled_reason = DISABLED_BY_OPERATOR, ""
    new.modified_ms = int(time.time() * 1000) if now_ms is None else now_ms
    return new


def set_enabled(redis, hook_id, enabled, now_ms=None):
    """Enable or disable a hook as the operator. Enabling clears its old failures."""
    hook = update_hook(redis, hook_id, {"enabled": enabled}, now_ms=now_ms)
    if enabled:
        from .failures import flush_hook
        flush_hook(redis, hook.id)
    return hook


def _queue_replace(pipe, old, new):
    for index_key in set(old.index_keys()) - set(new.index_keys()):
        pipe.srem(index_key, old.id)
    for index_key in new.index_keys():
        pipe.sadd(index_key, new.id)
    pipe.delete(keys.hook(old.id))
    pipe.hset(keys.hook(new.id), mapping=new.to_hash())


def delete_hook(redis, hook_id):
    try:
        hook = get_hook(redis, hook_id)
    except CorruptRecord:
        return _delete_unreadable_hook(redis, check_id("hook", hook_id))
    with redis.pipeline() as pipe:
        for index_key in hook.index_keys():
            pipe.srem(index_key, hook.id)
        pipe.srem(keys.account_hooks(hook.account_id), hook.id)
        pipe.srem(keys.FAILING_HOOKS, hook.id)
        pipe.delete(keys.hook(hook.id), keys.hook_failures(hook.id))
        pipe.execute()
    return hook


def _delete_unreadable_hook(redis, hook_id):
    """Delete a hook whose record is corrupt, so that the operator can be rid of it.

    Its event type and include_subaccounts cannot be trusted, so the hook id is
    removed from every index set of the account the record names. Returns a
    Hook holding the fields as stored, unchecked.
    """
    text = {k.decode(errors="replace"): v.decode(errors="replace")
            for k, v in redis.hgetall(keys.hook(hook_id)).items()}
    account_id = text.get("account_id", "")
    with redis.pipeline() as pipe:
        if _ID_TEXT.fullmatch(account_id):
            pipe.srem(keys.account_hooks(account_id), hook_id)
            for event_type in INDEXED_EVENT_TYPES:
                pipe.srem(keys.own_event_index(account_id, event_type), hook_id)
                pipe.srem(keys.descendant_event_index(account_id, event_type), hook_id)
        pipe.srem(keys.FAILING_HOOKS, hook_id)
        pipe.delete(keys.hook(hook_id), keys.hook_failures(hook_id))
        pipe.execute()
    return Hook(id=hook_id, account_id=account_id, name=text.get("name", ""), uri=text.get("uri", ""),
                hook=text.get("hook", ""))


_ID_TEXT = re.compile(r"[0-9a-f]{32}")


def hooks_for_event(redis, event, ancestor_ids):
    """Hooks whose index entries say they may fire for event (before hook_wants filters)."""
    index_keys = [
        keys.own_event_index(event.account_id, event.event_type),
        keys.own_event_index(event.account_id, ALL),
    ]
    for ancestor_id in ancestor_ids:
        index_keys.append(keys.descendant_event_index(ancestor_id, event.event_type))
        index_keys.append(keys.descendant_event_index(ancestor_id, ALL))
    hook_ids = sorted(m.decode() for m in redis.sunion(index_keys))
    return load_hooks(redis, hook_ids)
