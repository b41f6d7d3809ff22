"""Accounts, and the failure window settings of an account and of the system.

    PUT    /v2/accounts                      create a root account (system key)
    PUT    /v2/accounts/{ACCOUNT_ID}         create a subaccount of ACCOUNT_ID
    GET    /v2/accounts/{ACCOUNT_ID}         one account
    DELETE /v2/accounts/{ACCOUNT_ID}         delete it with its hooks (?recursive=true: and its subtree)
    GET    /v2/accounts/{ACCOUNT_ID}/settings
    POST   /v2/accounts/{ACCOUNT_ID}/settings   set both values; one left out falls back to the system's (system key)
    PATCH  /v2/accounts/{ACCOUNT_ID}/settings   set those given; null falls back to the system's (system key)
    GET    /v2/settings                      the system's (system key to change them)
    POST   /v2/settings, PATCH /v2/settings
"""

import logging

from flask import Blueprint

from .. import accounts, maintenance, settings
from ..errors import ValidationError
from .access import principal, query_bool, reach_account, redis, request_data, require_system
from .responses import ApiError, success

log = logging.getLogger(__name__)
blueprint = Blueprint("accounts", __name__)

ONE_ACCOUNT = "/v2/accounts/<account_id>"
ACCOUNT_FIELDS = ("name", "id")
WINDOW_SETTINGS = tuple(settings.DEFAULTS)
SETTERS = {
    settings.FAILURE_EXPIRY_MS: maintenance.set_failure_expiry,
    settings.DISABLE_THRESHOLD: maintenance.set_disable_threshold,
}


@blueprint.put("/v2/accounts")
def create_root_account():
    require_system()
    return _create_account(None)


@blueprint.put(ONE_ACCOUNT)
def create_subaccount(account_id):
    return _create_account(reach_account(account_id))


@blueprint.get(ONE_ACCOUNT)
def show_account(account_id):
    return success(_account_view(accounts.get_account(redis(), reach_account(account_id))))


@blueprint.delete(ONE_ACCOUNT)
def delete_account(account_id):
    account_id = reach_account(account_id)
    if account_id == principal().scope:
        raise ApiError(403, "forbidden", "an account key cannot delete its own account")
    deleted = accounts.delete_account(redis(), account_id, recursive=query_bool("recursive"))
    log.info("accounts deleted: %s", ", ".join(deleted))
    return success({"deleted": deleted})


@blueprint.get(ONE_ACCOUNT + "/settings")
def account_settings(account_id):
    return success(maintenance.settings_report(redis(), reach_account(account_id)))


@blueprint.post(ONE_ACCOUNT + "/settings")
def replace_account_settings(account_id):
    account_id = _settings_writer(account_id)
    given = _window_values(request_data(), allow_null=True)
    _apply_account_values(account_id, {name: given.get(name) for name in WINDOW_SETTINGS})
    return success(maintenance.settings_report(redis(), account_id))


@blueprint.patch(ONE_ACCOUNT + "/settings")
def patch_account_settings(account_id):
    account_id = _settings_writer(account_id)
    _apply_account_values(account_id, _window_values(request_data(), allow_null=True))
    return success(maintenance.settings_report(redis(), account_id))


def _settings_writer(account_id):
    """The failure window decides when a tenant's hooks are disabled, and its length
    paces the disable pass for everyone: the operator sets it, a tenant only reads it."""
    account_id = reach_account(account_id)
    require_system()
    return account_id


@blueprint.get("/v2/settings")
def system_settings():
    return success(_system_view())


@blueprint.route("/v2/settings", methods=["POST", "PATCH"])
def set_system_settings():
    require_system()
    data = request_data()
    log_successes = data.pop("log_successful_attempts", None)
    if log_successes is not None and not isinstance(log_successes, bool):
        raise ValidationError("log_successful_attempts", log_successes, "must be true or false")
    values = _window_values(data, allow_null=False)

    for name, number in values.items():
        SETTERS[name](redis(), number)
    if log_successes is not None:
        settings.set_log_successful_attempts(redis(), log_successes)
    return success(_system_view())


def _create_account(parent_id):
    data = request_data()
    unknown = sorted(set(data) - set(ACCOUNT_FIELDS))
    if unknown:
        raise ValidationError("field", unknown[0], f"is not an account field; fields are: {', '.join(ACCOUNT_FIELDS)}")
    account = accounts.create_account(redis(), data.get("name"), parent_id=parent_id, account_id=data.get("id"))
    log.info("account %s created under %s", account.id, parent_id or "no parent")
    return success(_account_view(account), 201)


def _account_view(account):
    return {**account.to_dict(), "children": sorted(accounts.child_ids(redis(), account.id))}


def _window_values(data, allow_null):
    """{name: int or None}, every value checked before any is written."""
    unknown = sorted(set(data) - set(WINDOW_SETTINGS))
    if unknown:
        raise ValidationError("setting", unknown[0], f"is not one of {', '.join(WINDOW_SETTINGS)}")
    checked = {}
    for name, value in data.items():
        if value is None and allow_null:
            checked[name] = None
        elif isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(name, value, "must be a whole number")
        else:
            checked[name] = settings.validate(name, value)
    return checked


def _apply_account_values(account_id, values):
    for name, number in values.items():
        if number is None:
            settings.clear_account(redis(), account_id, name)
        else:
            SETTERS[name](redis(), number, account_id=account_id)
    log.info("account %s settings changed: %s", account_id, values)


def _system_view():
    report = maintenance.settings_report(redis())
    for row in report.values():
        del row["account"]
    return {**report, "log_successful_attempts": settings.log_successful_attempts(redis())}
