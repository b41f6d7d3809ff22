"""The HTTP API: Kazoo's webhooks endpoints, accounts and settings, event intake, replay.

create_app(redis) builds the Flask application; `hookpool api` serves it with
waitress. Every answer uses Kazoo's envelope (see responses.py); every request
but the OpenAPI document needs an API key (see credentials.py).
"""

import logging
import re
import uuid

import redis as redis_client
from flask import Flask, g, request
from werkzeug.exceptions import HTTPException

from ..errors import NotFound, ValidationError
from . import access, accounts, events, meta, responses, webhooks

log = logging.getLogger(__name__)

# Large enough for a batch of a thousand typical call events.
MAX_REQUEST_BYTES = 8 * 1024 * 1024
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Kazoo's names for the HTTP errors Flask raises itself (unknown path, wrong method, ...).
HTTP_ERROR_MESSAGES = {404: "bad_identifier", 405: "invalid_method", 413: "request_too_large",
                       415: "unsupported_media_type"}


def create_app(redis, samples_dir=None):
    """The API application, serving the hookpool data held in redis."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.json.sort_keys = False
    app.extensions["hookpool"] = access.State(redis, samples_dir)
    for module in (webhooks, accounts, events, meta):
        app.register_blueprint(module.blueprint)

    app.before_request(_begin)
    app.after_request(_tag_response)
    _register_error_handlers(app)
    return app


def _begin():
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    if request.endpoint not in access.PUBLIC_ENDPOINTS:
        access.authenticate_request()


def _tag_response(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    return response


def _register_error_handlers(app):
    app.register_error_handler(ValidationError, responses.validation_error)
    app.register_error_handler(NotFound, responses.not_found)
    app.register_error_handler(responses.ApiError, _api_error)
    app.register_error_handler(redis_client.RedisError, _datastore_fault)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _api_error(exc):
    return responses.error(exc.status, exc.message, {"message": exc.detail})


def _datastore_fault(exc):
    log.error("request %s %s: Redis failed: %s", request.method, request.path, exc)
    return responses.error(503, "datastore_fault", {"message": "the datastore is unavailable; try again"})


def _http_error(exc):
    message = HTTP_ERROR_MESSAGES.get(exc.code, (exc.name or "error").lower().replace(" ", "_"))
    answer, status = responses.error(exc.code, message, {"message": exc.description})
    if exc.code == 405 and exc.valid_methods:
        answer.headers["Allow"] = ", ".join(exc.valid_methods)
    return answer, status


def _unexpected(exc):
    # The one place a request's unforeseen failure is logged with its traceback.
    log.exception("request %s %s failed", request.method, request.path)
    return responses.error(500, "internal_error", {"message": "the server failed; the error is logged"})
