"""Tunables read from HOOKPOOL_* environment variables.

Every variable is named in VARIABLES with its parser; an unknown HOOKPOOL_*
name is an error rather than a silently ignored typo.
"""

import ipaddress
import os
from dataclasses import dataclass, fields

from . import defaults
from .errors import ConfigurationError


@dataclass(frozen=True)
class Config:
    connect_timeout_s: float = defaults.CONNECT_TIMEOUT_S
    delivery_deadline_s: float = defaults.DELIVERY_DEADLINE_S
    retry_backoff_s: int = defaults.RETRY_BACKOFF_S
    retry_backoff_max_s: int = defaults.RETRY_BACKOFF_MAX_S
    retry_after_max_s: int = defaults.RETRY_AFTER_MAX_S
    # Share of the delivery workers one hook may hold; 1 turns the cap off (workers/fairness.py).
    hook_worker_share: float = defaults.HOOK_WORKER_SHARE
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


def _parse(variable, field, text):
    if field.type is str or field.type == "str":
        return text
    parse = float if field.type in (float, "float") else int
    try:
        value = parse(text)
    except ValueError:
        raise ConfigurationError(f"{variable}={text!r} is not a number") from None
    if value < 0:
        raise ConfigurationError(f"{variable}={text!r} must not be negative")
    return value


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
