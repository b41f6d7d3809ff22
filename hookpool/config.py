"""Tunables read from HOOKPOOL_* environment variables.

Every variable is named in VARIABLES with its parser; an unknown HOOKPOOL_*
name is an error rather than a silently ignored typo.
"""

import ipaddress
import math
import os
import re
from dataclasses import dataclass, field, fields

from . import defaults
from .errors import ConfigurationError


@dataclass(frozen=True)
class Range:
    """The values a numeric variable may take: low..high, low itself excluded when open_low."""

    low: float
    high: float
    open_low: bool = False

    def holds(self, value):
        above_low = value > self.low if self.open_low else value >= self.low
        return math.isfinite(value) and above_low and value <= self.high

    def describe(self):
        return f"{'above' if self.open_low else 'at least'} {self.low:g} and at most {self.high:g}"


HOUR_S = 3600
DAY_S = 24 * HOUR_S
# A timeout of zero would fail every delivery; one past an hour would pin a worker for good.
TIMEOUT_RANGE = Range(0, HOUR_S, open_low=True)
BACKOFF_RANGE = Range(0, DAY_S)


def _tunable(default, allowed):
    return field(default=default, metadata={"range": allowed})


@dataclass(frozen=True)
class Config:
    connect_timeout_s: float = _tunable(defaults.CONNECT_TIMEOUT_S, TIMEOUT_RANGE)
    delivery_deadline_s: float = _tunable(defaults.DELIVERY_DEADLINE_S, TIMEOUT_RANGE)
    retry_backoff_s: int = _tunable(defaults.RETRY_BACKOFF_S, BACKOFF_RANGE)
    retry_backoff_max_s: int = _tunable(defaults.RETRY_BACKOFF_MAX_S, BACKOFF_RANGE)
    retry_after_max_s: int = _tunable(defaults.RETRY_AFTER_MAX_S, BACKOFF_RANGE)
    # Share of the delivery workers one hook may hold; 1 turns the cap off (workers/fairness.py).
    hook_worker_share: float = _tunable(defaults.HOOK_WORKER_SHARE, Range(0, 1, open_low=True))
    data_dir: str = ".hookpool"
    # Comma-separated CIDRs that hooks may deliver into although they are
    # loopback, private, link-local...; see destinations.py.
    allow_networks: str = ""

    @property
    def allowed_networks(self):
        return parse_networks(self.allow_networks)


# Environment variable -> Config field. Names are the field names, upper-cased.
VARIABLES = {f"HOOKPOOL_{f.name.upper()}": f for f in fields(Config)}
# Read elsewhere, listed here so that they are not reported as unknown.
OTHER_VARIABLES = {"HOOKPOOL_LOG_LEVEL"}


# Plain decimal notation only: float() and int() would also take nan, inf, 1e999,
# "1_000", " 5" and non-ASCII digits, none of which anyone means as a timeout.
WHOLE_NUMBER = re.compile("[0-9]+")
DECIMAL_NUMBER = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def _parse(variable, field, text):
    if field.type is str or field.type == "str":
        return text
    is_float = field.type in (float, "float")
    pattern, parse = (DECIMAL_NUMBER, float) if is_float else (WHOLE_NUMBER, int)
    if not pattern.fullmatch(text) or len(text) > MAX_NUMBER_CHARS:
        kind = "a decimal number such as 2.5" if is_float else "a whole number"
        raise ConfigurationError(f"{variable}={text!r} is not {kind}")

    value = parse(text)
    allowed = field.metadata["range"]
    if not allowed.holds(value):
        raise ConfigurationError(f"{variable}={text!r} is out of range: must be {allowed.describe()}")
    return value


# Longer than any value in range can usefully be; keeps int() off pathological input.
MAX_NUMBER_CHARS = 32


def parse_networks(text, variable="HOOKPOOL_ALLOW_NETWORKS"):
    """Parse "127.0.0.0/8, fd00::/8" into a tuple of networks; a bare address is a /32 or /128."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item))
        except ValueError as exc:
            # Host bits set (10.0.0.1/8) usually means a typo, so it is refused rather than widened.
            raise ConfigurationError(
                f"{variable}: {item!r} is not a network in CIDR form such as 10.0.0.0/8 ({exc})"
            ) from None
    return tuple(networks)


def load_config(environ=None):
    """Build a Config from the environment, refusing unknown or malformed variables."""
    environ = os.environ if environ is None else environ

    unknown = sorted(
        name for name in environ
        if name.startswith("HOOKPOOL_") and name not in VARIABLES and name not in OTHER_VARIABLES
    )
    if unknown:
        known = ", ".join(sorted(VARIABLES) + sorted(OTHER_VARIABLES))
        raise ConfigurationError(f"unknown environment variable {unknown[0]}; known ones are: {known}")

    values = {
        field.name: _parse(variable, field, environ[variable])
        for variable, field in VARIABLES.items()
        if variable in environ
    }
    config = Config(**values)
    parse_networks(config.allow_networks)  # a bad CIDR is reported now, not at the first delivery
    return config
