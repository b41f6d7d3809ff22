"""What every endpoint needs: the Redis client, who is asking, which accounts they reach, the body.

Ids in a path that are malformed, unknown or outside the caller's reach all
answer 404 alike, so a key never learns whether another tenant's id exists.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, g, request

from .. import accounts, hooks
from ..errors import NotFound, ValidationError
from ..ids import check_id
from . import credentials
from .responses import ApiError

# Served without a key: they hold no tenant's data.
PUBLIC_ENDPOINTS = {"meta.openapi_document"}
AUTH_HEADER = "X-Auth-Token"


@dataclass
class State:
    redis: object
    samples_dir: Path | None


def state():
    return current_app.extensions["hookpool"]


def redis():
    return state().redis


def authenticate_request():
    api_key = request.headers.get(AUTH_HEADER) or _bearer_token()
    if not api_key:
        raise ApiError(401, "invalid_credentials", f"send an API key in the {AUTH_HEADER} header")
    principal = credentials.authenticate(redis(), api_key)
    if principal is None:
        raise ApiError(401, "invalid_credentials", "the API key is unknown or revoked")
    g.principal = principal


def _bearer_token():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def principal():
    return g.principal


def require_system():
    if not principal().is_system:
        raise ApiError(403, "forbidden", "only a system key may do this")


def reach_account(account_id):
    """The id of an account the caller may act on, lower-cased; NotFound otherwise."""
    try:
        account_id = check_id("account", account_id)
    except ValidationError:
        raise NotFound("account", account_id) from None
    if not credentials.reaches(redis(), principal(), account_id):
        raise NotFound("account", account_id)
    return account_id


def reach_hook(account_id, hook_id):
    """A hook of an account the caller may act on; NotFound for anything else."""
    account_id = reach_account(account_id)
    try:
        return hooks.get_hook(redis(), hook_id, account_id=account_id)
    except ValidationError:
        raise NotFound("hook", hook_id) from None


def reachable_account_ids(account_id):
    """account_id and every account below it."""
    return {account_id, *accounts.descendant_ids(redis(), account_id)}


def request_data(kind=dict):
    """The "data" member of a Kazoo request envelope ({"data": ...}), checked to be of kind."""
    raw = request.get_data(cache=True)
    try:
        document = json.loads(raw) if raw else None
    except (ValueError, RecursionError) as exc:
        raise ValidationError("data", _short(raw), f"is not valid JSON ({exc})") from None
    _refuse_lone_surrogates(document)
    if not isinstance(document, dict) or "data" not in document:
        raise ValidationError("data", None, 'is required: send a JSON object {"data": ...}')
    data = document["data"]
    if not isinstance(data, kind):
        raise ValidationError("data", _short(data), f"must be {_kind_name(kind)}")
    return data


def _refuse_lone_surrogates(document):
    """JSON may spell half a UTF-16 pair ("\\ud800"); that is not text, and nothing downstream can store it."""
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError("data", f"character {exc.start}", "is a lone UTF-16 surrogate, which is not text") from None


def _kind_name(kind):
    names = {dict: "an object", list: "an array"}
    if isinstance(kind, tuple):
        return " or ".join(names[k] for k in kind)
    return names[kind]


def _short(value, limit=60):
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def query_int(name, default, lowest, highest):
    text = request.args.get(name)
    if text is None:
        return default
    try:
        number = int(text)
    except ValueError:
        raise ValidationError(name, text, "must be a whole number") from None
    if not lowest <= number <= highest:
        raise ValidationError(name, text, f"must be between {lowest} and {highest}")
    return number


def query_bool(name, default=False):
    text = request.args.get(name)
    if text is None:
        return default
    if text.lower() not in ("true", "false"):
        raise ValidationError(name, text, "must be one of true, false")
    return text.lower() == "true"
