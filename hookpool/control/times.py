"""Points in time as operators type them: ISO 8601, or a time ago (15m)."""

import re
import time
from datetime import datetime, timezone

import click

from ..errors import ValidationError

# [0-9], not \d: \d would also take full-width and Arabic-Indic digits, which nothing else accepts.
RELATIVE_TIME = re.compile(r"([0-9]{1,9})([smhdw])")
SECONDS_PER_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text, now_ms):
    """Epoch ms of TIME: ISO 8601 (UTC unless it names an offset), or relative to now (15m, 2h, 3d)."""
    relative = RELATIVE_TIME.fullmatch(text)
    if relative:
        count, unit = relative.groups()
        return now_ms - int(count) * SECONDS_PER_UNIT[unit] * 1000

    try:
        if not text.isascii():
            raise ValueError("only ASCII is ISO 8601")
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError("--since", text, "is neither ISO 8601 (2026-12-03T14:00:00Z) "
                                               "nor a time ago (30s, 15m, 2h, 3d, 1w)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


class SinceTime(click.ParamType):
    """A point in time for --since, converted to epoch ms."""

    name = "TIME"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return parse_since(value, int(time.time() * 1000))
        except ValidationError as exc:
            self.fail(f"{value!r} {exc.rule}", param, ctx)
