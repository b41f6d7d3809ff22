"""The OpenAPI 3.0 document of the API, served at /v2/openapi.json.

Written out by hand rather than generated, so that it states the contract the
tests hold the code to (the fuzz test sends what this document allows, and
checks every answer against it).
"""

from functools import lru_cache

from .. import __version__, defaults
from ..events import EVENT_TYPES, INDEXED_EVENT_TYPES
from ..hooks import FORMATS, HTTP_VERBS

ID_PATTERN = "^[0-9a-fA-F]{32}$"


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _envelope(data_schema):
    return {
        "type": "object",
        "required": ["data", "status"],
        "properties": {
            "data": data_schema,
            "status": {"type": "string", "enum": ["success"]},
            "request_id": {"type": "string"},
            "version": {"type": "string"},
        },
    }


def _request(data_schema, description=None):
    body = {
        "required": True,
        "content": {"application/json": {"schema": {
            "type": "object", "required": ["data"], "properties": {"data": data_schema},
        }}},
    }
    if description:
        body["description"] = description
    return body


ERRORS = {
    "400": "invalid data: {data: {FIELD: {RULE: {message, value}}}}",
    "401": "no API key, or an unknown one",
    "403": "the key may not do this",
    "404": "no such object, or not one the key reaches",
    "405": "method not allowed on this path",
    "413": "request body too large",
    "503": "Redis is unavailable",
}


def _answers(success_code, data_schema, description, errors=("400", "401", "404", "503")):
    answers = {success_code: {"description": description,
                              "content": {"application/json": {"schema": _envelope(data_schema)}}}}
    for code in errors:
        answers[code] = {"description": ERRORS[code], "content": {"application/json": {"schema": _ref("Error")}}}
    return answers


def _operation(summary, success_code, data_schema, description, body=None, parameters=(), errors=None):
    operation = {"summary": summary, "parameters": list(parameters),
                 "responses": _answers(success_code, data_schema, description,
                                       errors or ("400", "401", "404", "413", "503"))}
    if body is not None:
        operation["requestBody"] = body
    return operation


ACCOUNT_ID = {"name": "account_id", "in": "path", "required": True, "schema": {"type": "string", "pattern": ID_PATTERN}}
WEBHOOK_ID = {"name": "webhook_id", "in": "path", "required": True, "schema": {"type": "string", "pattern": ID_PATTERN}}
ATTEMPT_QUERY = [
    {"name": "since_ms", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    {"name": "limit", "in": "query",
     "schema": {"type": "integer", "minimum": 1, "maximum": defaults.ATTEMPTS_MAX_PER_ACCOUNT}},
    {"name": "failed", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]}},
]

HOOK_FIELD_SCHEMAS = {
    "name": {"type": "string", "minLength": 1, "maxLength": defaults.MAX_NAME_LENGTH},
    "uri": {"type": "string", "format": "uri", "maxLength": defaults.MAX_URI_LENGTH},
    "hook": {"type": "string", "enum": list(INDEXED_EVENT_TYPES)},
    "http_verb": {"type": "string", "enum": list(HTTP_VERBS)},
    "retries": {"type": "integer", "minimum": 0, "maximum": defaults.MAX_HOOK_RETRIES},
    "format": {"type": "string", "enum": list(FORMATS)},
    "enabled": {"type": "boolean"},
    "include_subaccounts": {"type": "boolean"},
    "include_internal_legs": {"type": "boolean"},
    "custom_data": {"type": "object", "additionalProperties": {"type": "string"}},
}
WINDOW_SETTING_ROW = {
    "type": "object",
    "properties": {
        "default": {"type": "integer"},
        "system": {"type": "integer", "nullable": True},
        "account": {"type": "integer", "nullable": True},
        "effective": {"type": "integer"},
    },
}


def _schemas():
    return {
        "Error": {
            "type": "object",
            "required": ["data", "error", "message", "status"],
            "properties": {
                "data": {"type": "object"},
                "error": {"type": "string"},
                "message": {"type": "string"},
                "status": {"type": "string", "enum": ["error"]},
                "request_id": {"type": "string"},
                "version": {"type": "string"},
            },
        },
        "Hook": {
            "type": "object",
            "properties": {
                **HOOK_FIELD_SCHEMAS,
                "id": {"type": "string"},
                "account_id": {"type": "string"},
                "disabled_by": {"type": "string", "description": "operator, system, or empty"},
                "disabled_reason": {"type": "string"},
                "created_ms": {"type": "integer"},
                "modified_ms": {"type": "integer"},
                "signed": {"type": "boolean"},
                "secret": {"type": "string", "description": "only in the answer to the creation"},
            },
        },
        "HookCreate": {
            "type": "object",
            "required": ["name", "uri", "hook"],
            "properties": {
                **HOOK_FIELD_SCHEMAS,
                "secret": {"description": "true for a new signing secret, shown once; or a whsec_ secret",
                           "oneOf": [{"type": "boolean"}, {"type": "string"}]},
            },
        },
        "HookReplace": {"type": "object", "required": ["name", "uri", "hook"], "properties": HOOK_FIELD_SCHEMAS},
        "HookPatch": {"type": "object", "properties": HOOK_FIELD_SCHEMAS},
        "Account": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "parent_id": {"type": "string", "nullable": True},
                "ancestors": {"type": "array", "items": {"type": "string"}},
                "children": {"type": "array", "items": {"type": "string"}},
                "created_ms": {"type": "integer"},
            },
        },
        "AccountCreate": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 128},
                           "id": {"type": "string", "pattern": ID_PATTERN}},
        },
        "SettingsReport": {
            "type": "object",
            "properties": {"failure_expiry_ms": WINDOW_SETTING_ROW, "disable_threshold": WINDOW_SETTING_ROW,
                           "log_successful_attempts": {"type": "boolean"}},
        },
        "AccountSettings": {
            "type": "object",
            "properties": {
                "failure_expiry_ms": {"type": "integer", "minimum": 1,
                                      "maximum": defaults.MAX_FAILURE_EXPIRY_MS, "nullable": True},
                "disable_threshold": {"type": "integer", "minimum": 1,
                                      "maximum": defaults.MAX_DISABLE_THRESHOLD, "nullable": True},
            },
        },
        "SystemSettings": {
            "type": "object",
            "properties": {
                "failure_expiry_ms": {"type": "integer", "minimum": 1, "maximum": defaults.MAX_FAILURE_EXPIRY_MS},
                "disable_threshold": {"type": "integer", "minimum": 1, "maximum": defaults.MAX_DISABLE_THRESHOLD},
                "log_successful_attempts": {"type": "boolean"},
            },
        },
        "Attempt": {"type": "object", "description": "one delivery attempt: time_ms, hook_id, delivery_id, uri, "
                                                     "verb, status, result, reason, try, retries_left, ..."},
        "Event": {
            "type": "object",
            "description": "a Kazoo event; hook_event names its type unless ?event_type= does",
            "properties": {"account_id": {"type": "string", "pattern": ID_PATTERN},
                           "hook_event": {"type": "string", "enum": list(EVENT_TYPES)}},
        },
        "ReEnable": {"type": "object", "required": ["re-enable"],
                     "properties": {"re-enable": {"type": "boolean", "enum": [True]}}},
        "ReEnableReport": {
            "type": "object",
            "properties": {"account_ids": {"type": "array", "items": {"type": "string"}},
                           "re_enabled": {"type": "array", "items": {"type": "string"}},
                           "left_disabled": {"type": "array", "items": {"type": "string"}},
                           "failures_cleared": {"type": "integer"}},
        },
        "Replay": {
            "type": "object",
            "description": "delivery_id alone resends that delivery; since_ms (with hook_id, optionally) resends "
                           "every failed delivery logged since then",
            "properties": {"delivery_id": {"type": "string", "pattern": ID_PATTERN},
                           "since_ms": {"type": "integer", "minimum": 0},
                           "hook_id": {"type": "string", "pattern": ID_PATTERN}},
        },
        "ReplayReport": {
            "type": "object",
            "properties": {"replayed": {"type": "array", "items": {"type": "object"}},
                           "skipped": {"type": "array", "items": {"type": "object"}}},
        },
    }


def _paths():
    hook_list = {"type": "array", "items": _ref("Hook")}
    attempts = {"type": "array", "items": _ref("Attempt")}
    account_ops = ("400", "401", "403", "404", "413", "503")
    return {
        "/v2/accounts": {
            "put": _operation("Create a root account (system key)", "201", _ref("Account"), "the account",
                              _request(_ref("AccountCreate")), errors=account_ops),
        },
        "/v2/accounts/{account_id}": {
            "parameters": [ACCOUNT_ID],
            "get": _operation("Show an account", "200", _ref("Account"), "the account"),
            "put": _operation("Create a subaccount", "201", _ref("Account"), "the new subaccount",
                              _request(_ref("AccountCreate"))),
            "delete": _operation("Delete an account with its hooks", "200", {"type": "object"}, "ids deleted",
                                 parameters=[{"name": "recursive", "in": "query",
                                              "schema": {"type": "string", "enum": ["true", "false"]}}],
                                 errors=account_ops),
        },
        "/v2/accounts/{account_id}/settings": {
            "parameters": [ACCOUNT_ID],
            "get": _operation("Failure window settings of an account", "200", _ref("SettingsReport"), "settings"),
            "post": _operation("Set both; one left out falls back (system key)", "200", _ref("SettingsReport"), "settings",
                               _request(_ref("AccountSettings")), errors=account_ops),
            "patch": _operation("Set some; null falls back (system key)", "200", _ref("SettingsReport"), "settings",
                                _request(_ref("AccountSettings")), errors=account_ops),
        },
        "/v2/settings": {
            "get": _operation("System settings", "200", _ref("SettingsReport"), "settings"),
            "post": _operation("Set system settings (system key)", "200", _ref("SettingsReport"), "settings",
                               _request(_ref("SystemSettings")), errors=account_ops),
            "patch": _operation("Set system settings (system key)", "200", _ref("SettingsReport"), "settings",
                                _request(_ref("SystemSettings")), errors=account_ops),
        },
        "/v2/accounts/{account_id}/webhooks": {
            "parameters": [ACCOUNT_ID],
            "get": _operation("The account's hooks", "200", hook_list, "hooks"),
            "put": _operation("Create a hook", "201", _ref("Hook"), "the hook", _request(_ref("HookCreate"))),
            "patch": _operation("Re-enable the hooks the system disabled", "200", _ref("ReEnableReport"),
                                "what was re-enabled", _request(_ref("ReEnable"))),
        },
        "/v2/accounts/{account_id}/descendants/webhooks": {
            "parameters": [ACCOUNT_ID],
            "patch": _operation("Re-enable system-disabled hooks of the account and its subtree", "200",
                                _ref("ReEnableReport"), "what was re-enabled", _request(_ref("ReEnable"))),
        },
        "/v2/accounts/{account_id}/webhooks/attempts": {
            "parameters": [ACCOUNT_ID],
            "get": _operation("The account's attempts log, newest first", "200", attempts, "attempts",
                              parameters=ATTEMPT_QUERY),
        },
        "/v2/accounts/{account_id}/webhooks/{webhook_id}": {
            "parameters": [ACCOUNT_ID, WEBHOOK_ID],
            "get": _operation("Show a hook", "200", _ref("Hook"), "the hook"),
            "post": _operation("Replace a hook's fields", "200", _ref("Hook"), "the hook",
                               _request(_ref("HookReplace"))),
            "patch": _operation("Change some fields; enabled true clears failures", "200", _ref("Hook"), "the hook",
                                _request(_ref("HookPatch"))),
            "delete": _operation("Delete a hook", "200", _ref("Hook"), "the deleted hook"),
        },
        "/v2/accounts/{account_id}/webhooks/{webhook_id}/attempts": {
            "parameters": [ACCOUNT_ID, WEBHOOK_ID],
            "get": _operation("The hook's attempts, newest first", "200", attempts, "attempts",
                              parameters=ATTEMPT_QUERY),
        },
        "/v2/accounts/{account_id}/events": {
            "parameters": [ACCOUNT_ID],
            "post": _operation(
                "Publish events; 202 once they are in Redis", "202", {"type": "object"}, "accepted",
                _request({"oneOf": [_ref("Event"), {"type": "array", "items": _ref("Event")}]}),
                parameters=[{"name": "event_type", "in": "query",
                             "schema": {"type": "string", "enum": list(EVENT_TYPES)}}],
            ),
        },
        "/v2/accounts/{account_id}/replays": {
            "parameters": [ACCOUNT_ID],
            "post": _operation("Resend a delivery, or failed deliveries since a time", "202", _ref("ReplayReport"),
                               "replayed", _request(_ref("Replay"))),
        },
        "/v2/webhooks": {
            "get": _operation("Hook types", "200", {"type": "array", "items": {"type": "object"}}, "hook types",
                              errors=("401", "503")),
        },
        "/v2/webhooks/samples": {
            "get": _operation("Types with sample events", "200", {"type": "array", "items": {"type": "string"}},
                              "types", errors=("401", "503")),
        },
        "/v2/webhooks/samples/{event_type}": {
            "parameters": [{"name": "event_type", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": list(EVENT_TYPES)}}],
            "get": _operation("Kazoo's sample events of a type", "200", {"type": "array"}, "samples",
                              errors=("401", "404", "503")),
        },
    }


@lru_cache(maxsize=1)
def document():
    return {
        "openapi": "3.0.3",
        "info": {"title": "hookpool", "version": __version__,
                 "description": "Kazoo-shaped webhooks API of hookpool. Every answer is an envelope: "
                                "{data, status, request_id}; errors add error and message."},
        "servers": [{"url": "/"}],
        "security": [{"AuthToken": []}, {"Bearer": []}],
        "components": {
            "securitySchemes": {
                "AuthToken": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
                "Bearer": {"type": "http", "scheme": "bearer"},
            },
            "schemas": _schemas(),
        },
        "paths": _paths(),
    }
