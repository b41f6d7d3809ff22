"""What the API says about itself: hook types, sample events, the OpenAPI document.

    GET /v2/webhooks                    the hook types, with the custom_data modifiers they take
    GET /v2/webhooks/samples            the types that have sample events
    GET /v2/webhooks/samples/{TYPE}     Kazoo's sample events of TYPE
    GET /v2/openapi.json                the OpenAPI document (served without a key)
"""

import json
from pathlib import Path

from flask import Blueprint, jsonify

from ..errors import NotFound
from ..events import ALL, EVENT_TYPES, OBJECT_ACTIONS
from .access import state
from .openapi import document
from .responses import success

blueprint = Blueprint("meta", __name__)

HOOK_TYPES = {
    "channel_create": "A call leg is created.",
    "channel_answer": "A call leg is answered.",
    "channel_bridge": "A call leg is bridged to another.",
    "channel_destroy": "A call leg is hung up.",
    "object": "A document of the account is created, edited or deleted.",
    "notifications": "The account is sent a notification (voicemail, fax, low balance, ...).",
    "parking": "A call is parked or retrieved from a parking slot.",
    ALL: "Every event of the types above.",
}
MODIFIERS = {
    "notifications": {"type": {"description": "the notification's event_name, or all", "required": True}},
    "object": {
        "type": {"description": "the document type: account, callflow, device, faxbox, media, user, vmbox, ..., "
                                "or all", "required": True},
        "action": {"description": "the change", "enum": list(OBJECT_ACTIONS) + [ALL], "required": True},
    },
}


@blueprint.get("/v2/webhooks")
def hook_types():
    return success([
        {"id": name, "name": name.replace("_", " ").capitalize(), "description": text,
         "modifiers": MODIFIERS.get(name, {})}
        for name, text in HOOK_TYPES.items()
    ])


@blueprint.get("/v2/webhooks/samples")
def sample_types():
    folder = samples_dir()
    return success([t for t in EVENT_TYPES if folder and (folder / f"{t}.json").is_file()])


@blueprint.get("/v2/webhooks/samples/<event_type>")
def samples(event_type):
    folder = samples_dir()
    if event_type not in EVENT_TYPES or folder is None or not (folder / f"{event_type}.json").is_file():
        raise NotFound("sample event type", event_type)
    return success(json.loads((folder / f"{event_type}.json").read_text()))


def samples_dir():
    """The folder of Kazoo samples: as configured, or examples/kazoo-samples of the source tree or cwd."""
    configured = state().samples_dir
    candidates = [Path(configured)] if configured else [
        Path(__file__).resolve().parents[2] / "examples" / "kazoo-samples",
        Path.cwd() / "examples" / "kazoo-samples",
    ]
    return next((c for c in candidates if c.is_dir()), None)


@blueprint.get("/v2/openapi.json")
def openapi_document():
    return jsonify(document())
