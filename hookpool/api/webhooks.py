"""Kazoo's webhooks endpoints: hooks of an account, re-enabling, and the attempts log.

    GET    /v2/accounts/{ACCOUNT_ID}/webhooks                    the account's hooks
    PUT    /v2/accounts/{ACCOUNT_ID}/webhooks                    create a hook
    PATCH  /v2/accounts/{ACCOUNT_ID}/webhooks                    {"re-enable": true}: hooks the system disabled
    PATCH  /v2/accounts/{ACCOUNT_ID}/descendants/webhooks        the same, for the account and its subtree
    GET    /v2/accounts/{ACCOUNT_ID}/webhooks/attempts           the attempts log
    GET    /v2/accounts/{ACCOUNT_ID}/webhooks/{WEBHOOK_ID}       one hook
    POST   /v2/accounts/{ACCOUNT_ID}/webhooks/{WEBHOOK_ID}       replace its fields (absent ones take defaults)
    PATCH  /v2/accounts/{ACCOUNT_ID}/webhooks/{WEBHOOK_ID}       change some fields; {"enabled": true} clears failures
    DELETE /v2/accounts/{ACCOUNT_ID}/webhooks/{WEBHOOK_ID}       delete it
    GET    /v2/accounts/{ACCOUNT_ID}/webhooks/{WEBHOOK_ID}/attempts
"""

import logging

from flask import Blueprint

from .. import attempts, defaults, failures, hooks, maintenance
from ..errors import ValidationError
from .access import query_bool, query_int, reach_account, reach_hook, redis, request_data
from .responses import success

log = logging.getLogger(__name__)
blueprint = Blueprint("webhooks", __name__)

ACCOUNT_HOOKS = "/v2/accounts/<account_id>/webhooks"
ONE_HOOK = "/v2/accounts/<account_id>/webhooks/<webhook_id>"
# Shown by GET; a client that sends a fetched hook back unchanged must not be refused for them.
READ_ONLY_FIELDS = ("id", "account_id", "disabled_by", "disabled_reason", "created_ms", "modified_ms", "signed")
# What POST (a full replacement) gives the fields it is not sent.
REPLACEMENT_DEFAULTS = {
    "http_verb": defaults.HOOK_HTTP_VERB,
    "retries": defaults.HOOK_RETRIES,
    "format": defaults.HOOK_FORMAT,
    "enabled": True,
    "include_subaccounts": False,
    "include_internal_legs": True,
    "custom_data": {},
}
MAX_ATTEMPTS_SHOWN = defaults.ATTEMPTS_MAX_PER_ACCOUNT


@blueprint.get(ACCOUNT_HOOKS)
def list_hooks(account_id):
    account_id = reach_account(account_id)
    return success([h.to_dict() for h in hooks.list_hooks(redis(), account_id)])


@blueprint.put(ACCOUNT_HOOKS)
def create_hook(account_id):
    account_id = reach_account(account_id)
    fields = _editable(request_data())
    secret = _secret_requested(fields.pop("secret", None))

    hook = hooks.create_hook(redis(), account_id, fields, secret=secret)

    log.info("hook %s created in account %s", hook.id, account_id)
    shown = hook.to_dict()
    if secret:
        shown["secret"] = secret  # shown this once only
    return success(shown, 201)


@blueprint.patch(ACCOUNT_HOOKS)
def reenable_account_hooks(account_id):
    account_id = reach_account(account_id)
    _require_reenable(request_data())
    report = maintenance.enable_account_hooks(redis(), account_id)
    return success(_reenable_view(report))


@blueprint.patch("/v2/accounts/<account_id>/descendants/webhooks")
def reenable_descendant_hooks(account_id):
    account_id = reach_account(account_id)
    _require_reenable(request_data())
    report = maintenance.enable_descendant_hooks(redis(), account_id)
    return success(_reenable_view(report))


@blueprint.get(ACCOUNT_HOOKS + "/attempts")
def account_attempts(account_id):
    account_id = reach_account(account_id)
    return success(_attempts(account_id, None))


@blueprint.get(ONE_HOOK)
def show_hook(account_id, webhook_id):
    return success(reach_hook(account_id, webhook_id).to_dict())


@blueprint.post(ONE_HOOK)
def replace_hook(account_id, webhook_id):
    old = reach_hook(account_id, webhook_id)
    fields = _editable(request_data())
    _refuse_secret(fields)
    for required in ("name", "uri", "hook"):
        if fields.get(required) in (None, ""):
            raise ValidationError(required, fields.get(required), "is required")
    return _update(old, {**REPLACEMENT_DEFAULTS, **fields})


@blueprint.patch(ONE_HOOK)
def patch_hook(account_id, webhook_id):
    old = reach_hook(account_id, webhook_id)
    fields = _editable(request_data())
    _refuse_secret(fields)
    return _update(old, fields)


@blueprint.delete(ONE_HOOK)
def delete_hook(account_id, webhook_id):
    hook = reach_hook(account_id, webhook_id)
    hooks.delete_hook(redis(), hook.id)
    log.info("hook %s of account %s deleted", hook.id, hook.account_id)
    return success(hook.to_dict())


@blueprint.get(ONE_HOOK + "/attempts")
def hook_attempts(account_id, webhook_id):
    hook = reach_hook(account_id, webhook_id)
    return success(_attempts(hook.account_id, hook.id))


def _update(old, fields):
    hook = hooks.update_hook(redis(), old.id, fields)
    if hook.enabled and not old.enabled:
        # Old failures would disable it again at its next failure.
        failures.flush_hook(redis(), hook.id)
        log.info("hook %s enabled; its failures cleared", hook.id)
    return success(hook.to_dict())


def _editable(data):
    return {name: value for name, value in data.items() if name not in READ_ONLY_FIELDS}


def _secret_requested(value):
    """secret: true makes a new signing secret; a whsec_ string is used as given."""
    if value is None or value is False:
        return None
    if value is True:
        return hooks.new_secret()
    return hooks.check_secret(value)


def _refuse_secret(fields):
    if "secret" in fields:
        raise ValidationError("secret", "(hidden)", "can only be set when the hook is created")


def _require_reenable(data):
    if data.get("re-enable") is not True:
        raise ValidationError("re-enable", data.get("re-enable"), 'is required and must be true: {"re-enable": true}')
    extra = sorted(set(data) - {"re-enable"})
    if extra:
        raise ValidationError("field", extra[0], "is not understood here; send only re-enable")


def _reenable_view(report):
    return {
        "account_ids": report.account_ids,
        "re_enabled": report.re_enabled,
        "left_disabled": report.left_disabled,
        "failures_cleared": report.failures_cleared,
    }


def _attempts(account_id, hook_id):
    """Entries of the attempts log, newest first; the kept event is left out (it is for replay)."""
    entries = attempts.read(
        redis(), account_id, hook_id=hook_id,
        since_ms=query_int("since_ms", None, 0, 2**53),
        failed_only=query_bool("failed"),
        limit=query_int("limit", 100, 1, MAX_ATTEMPTS_SHOWN),
    )
    return [{k: v for k, v in entry.items() if k != "event_payload"} for entry in entries]
