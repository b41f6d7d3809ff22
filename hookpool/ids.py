"""Identifiers: accounts and hooks use 32 lowercase hex characters, as Kazoo's."""

import re
import uuid

from .errors import ValidationError

_ID = re.compile(r"[0-9a-f]{32}")


def new_id():
    return uuid.uuid4().hex


def check_id(field, value):
    """Return value as a lowercase id, or raise ValidationError naming field."""
    if not isinstance(value, str) or not _ID.fullmatch(value.lower()):
        raise ValidationError(field, value, "is not 32 hex characters")
    return value.lower()
