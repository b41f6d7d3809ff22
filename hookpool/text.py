"""Checks shared by every free-text field (names, custom_data)."""

from .errors import ValidationError


def require_utf8(field, value):
    """Refuse text that cannot be stored or sent as UTF-8.

    Python holds bytes that were not UTF-8 on the command line as lone
    surrogates; Redis and receivers would choke on them later, so they stop here.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(field, _as_bytes(value), f"is not valid UTF-8 text (at character {exc.start})") from None
    return value


def _as_bytes(value):
    """The bytes the user typed, where Python kept them as surrogates; else an escaped form."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode()
