"""Every error hookpool raises on purpose descends from HookpoolError.

Callers that only want to know "did hookpool refuse this?" catch the root; the
control script turns any of them into one line on stderr.
"""


class HookpoolError(Exception):
    """Root of hookpool's own errors."""


class ConfigurationError(HookpoolError):
    """An environment variable or setting has a value hookpool cannot use."""


class RedisUnavailable(HookpoolError):
    """No Redis server answered at the configured address."""


class ValidationError(HookpoolError):
    """Input (a hook field, an event, a CLI argument) breaks a rule.

    The message names the field and shows the bad value, cut to
    SHOWN_VALUE_CHARS so that a huge bad value cannot flood the terminal; a
    missing value (None) is not shown at all ("account_id is missing ...").
    """

    SHOWN_VALUE_CHARS = 80

    def __init__(self, field, value, rule):
        self.field = field
        self.value = value
        self.rule = rule
        if value is None:
            super().__init__(f"{field} {rule}")
        else:
            super().__init__(f"{field}: {shorten(repr(value), self.SHOWN_VALUE_CHARS)} {rule}")


def shorten(text, limit):
    """text itself if it fits in limit characters, else its start and '...'."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


class DestinationRefused(HookpoolError):
    """A hook's destination lies inside the operator's network and is not allowed.

    Raised just before a connection would be made, so nothing reaches it.
    """


class CorruptRecord(HookpoolError):
    """A record in Redis that hookpool cannot read (written by hand, or by a bug).

    Readers of many records skip such a one and log it; readers of one report it.
    """

    def __init__(self, kind, object_id, detail):
        self.kind = kind
        self.object_id = object_id
        super().__init__(f"{kind} {object_id} has a corrupt record in Redis ({detail}); fix or delete it")


class NotFound(HookpoolError):
    """An account or hook id that does not exist."""

    def __init__(self, kind, object_id):
        self.kind = kind
        self.object_id = object_id
        super().__init__(f"no {kind} with id {object_id!r}")
