"""Kazoo's response envelope, for successes and for every kind of error.

Success:  {"data": ..., "status": "success", "request_id": ..., "version": ...}
Error:    {"data": {...}, "error": "404", "message": "bad_identifier", "status": "error", ...}

Validation errors keep Kazoo's nesting, field then rule then message, so that
clients written against Kazoo find the failing field where they expect it:
{"data": {"retries": {"maximum": {"message": "...", "value": 9}}}, "error": "400",
 "message": "invalid data", "status": "error"}.
"""

import json

from flask import g, jsonify

from .. import __version__
from ..errors import HookpoolError, ValidationError

# Our ValidationError carries a rule sentence; Kazoo names the rule. The first
# pattern found in the sentence decides the name, "invalid" when none matches.
RULE_NAMES = (
    ("cannot be replayed", "replayable"),
    ("is required", "required"),
    ("is missing", "required"),
    ("must not be empty", "required"),
    ("must be one of", "enum"),
    ("not an event type", "enum"),
    ("must be between", "range"),
    ("must be true or false", "type"),
    ("must be a whole number", "type"),
    ("is not a whole number", "type"),
    ("must be an object", "type"),
    ("is not a JSON object", "type"),
    ("must be a string", "type"),
    ("is not a hook field", "unknown_field"),
    ("longer than", "maxLength"),
    ("larger than", "maxLength"),
    ("has more than", "maxItems"),
    ("is not 32 hex characters", "pattern"),
    ("is already", "unique"),
)


class ApiError(HookpoolError):
    """A request the API refuses before (or instead of) touching the domain: 401, 403, 405, 413, 415."""

    def __init__(self, status, message, detail):
        self.status = status
        self.message = message
        self.detail = detail
        super().__init__(f"{status} {message}: {detail}")


def success(data, status=200):
    body = {"data": data, "status": "success", "request_id": g.get("request_id"), "version": __version__}
    return jsonify(body), status


def error(status, message, data):
    body = {"data": data, "error": str(status), "message": message, "status": "error",
            "request_id": g.get("request_id"), "version": __version__}
    return jsonify(body), status


def validation_error(exc: ValidationError):
    """HTTP 400 in Kazoo's shape: {field: {rule: {message, value}}}."""
    detail = {"message": str(exc)}
    if _is_json_value(exc.value):
        detail["value"] = exc.value
    return error(400, "invalid data", {str(exc.field): {rule_name(exc.rule): detail}})


def rule_name(rule_text):
    for pattern, name in RULE_NAMES:
        if pattern in rule_text:
            return name
    return "invalid"


def not_found(exc):
    return error(404, "bad_identifier", {"message": "bad identifier", "not_found": str(exc)})


def _is_json_value(value):
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
