"""Checks shared by every free-text field (names, custom_data)."""

import unicodedata

from .errors import ValidationError

# Bidirectional overrides and isolates: they make text display in an order other
# than the one it is stored in, so a name could pose as another.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


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


def check_label(field, value):
    """A name or key that operators read in tables: UTF-8, with no control characters.

    A newline or an escape sequence in an account name would break the control
    script's tables, or rewrite the operator's terminal when printed.
    """
    require_utf8(field, value)
    for position, character in enumerate(value):
        if unicodedata.category(character) in ("Cc", "Zl", "Zp") or character in _BIDI_CONTROLS:
            raise ValidationError(field, value, f"has a control character ({character!r} at {position}); "
                                                "names may hold only printable text")
    return value
