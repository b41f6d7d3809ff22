"""The failure window and disable threshold, system-wide and per account.

An account's own value wins over the system value; the system value wins over
the default in defaults.py. Values are validated before anything is written.
"""

import re
from dataclasses import dataclass

from . import defaults, keys
from .errors import ValidationError

FAILURE_EXPIRY_MS = "failure_expiry_ms"
DISABLE_THRESHOLD = "disable_threshold"
LOG_SUCCESSFUL_ATTEMPTS = "log_successful_attempts"

DEFAULTS = {
    FAILURE_EXPIRY_MS: defaults.FAILURE_EXPIRY_MS,
    DISABLE_THRESHOLD: defaults.DISABLE_THRESHOLD,
}
UPPER_BOUNDS = {
    FAILURE_EXPIRY_MS: defaults.MAX_FAILURE_EXPIRY_MS,
    DISABLE_THRESHOLD: defaults.MAX_DISABLE_THRESHOLD,
}


@dataclass(frozen=True)
class WindowSettings:
    """The settings that decide when a hook is disabled."""

    failure_expiry_ms: int
    disable_threshold: int


def validate(name, value):
    """Return value as an int within 1..upper bound of the setting, or raise ValidationError."""
    if name not in UPPER_BOUNDS:
        raise ValidationError("setting", name, f"is not one of {sorted(UPPER_BOUNDS)}")
    number = parse_whole_number(name, value)
    if not 1 <= number <= UPPER_BOUNDS[name]:
        raise ValidationError(name, value, f"must be between 1 and {UPPER_BOUNDS[name]}")
    return number


def parse_whole_number(field, value):
    """An int given as an int, or as plain ASCII digits (a leading minus allowed) and nothing else.

    int() alone would also take " 5", "+100", "1_000" and full-width or
    Arabic-Indic digits, which the HTTP API refuses; the command line must
    accept exactly what the API does.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    if not PLAIN_DIGITS.fullmatch(text):
        raise ValidationError(field, value, "is not a whole number")
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValidationError(field, value, f"has too many digits (at most {MAX_NUMBER_DIGITS})")
    return int(text)


PLAIN_DIGITS = re.compile("-?[0-9]+")
# Far above any bound a setting has, far below Python's 4300-digit conversion limit.
MAX_NUMBER_DIGITS = 18


def set_system(redis, name, value):
    redis.hset(keys.SYSTEM_SETTINGS, name, validate(name, value))


def set_account(redis, account_id, name, value):
    number = validate(name, value)
    with redis.pipeline() as pipe:
        queue_account_value(pipe, account_id, name, number)
        pipe.execute()


def queue_account_value(pipe, account_id, name, number):
    """Queue, on pipe, the writes of one already validated account setting."""
    pipe.hset(keys.account_settings(account_id), name, number)
    if name == FAILURE_EXPIRY_MS:
        # Kept so that the shortest window, which sets the disable pass's pace, is one read away.
        pipe.zadd(keys.ACCOUNT_EXPIRIES, {account_id: number})


def clear_account(redis, account_id, name):
    with redis.pipeline() as pipe:
        pipe.hdel(keys.account_settings(account_id), name)
        if name == FAILURE_EXPIRY_MS:
            pipe.zrem(keys.ACCOUNT_EXPIRIES, account_id)
        pipe.execute()


def shortest_expiry_ms(redis):
    """The shortest failure window in force anywhere: the system's or any account's own."""
    system = system_values(redis).get(FAILURE_EXPIRY_MS, DEFAULTS[FAILURE_EXPIRY_MS])
    shortest_account = redis.zrange(keys.ACCOUNT_EXPIRIES, 0, 0, withscores=True)
    return min([system] + [int(score) for _, score in shortest_account])


def system_values(redis):
    """The system's own values: {name: int}, only for those set."""
    return parse_values(redis.hgetall(keys.SYSTEM_SETTINGS))


def account_values(redis, account_id):
    """The account's own values: {name: int}, only for those set."""
    return parse_values(redis.hgetall(keys.account_settings(account_id)))


def parse_values(raw):
    return {k.decode(): int(v) for k, v in raw.items() if k.decode() in DEFAULTS}


def effective(system, account):
    """Merge defaults, system values and account values into WindowSettings."""
    merged = {**DEFAULTS, **system, **account}
    return WindowSettings(merged[FAILURE_EXPIRY_MS], merged[DISABLE_THRESHOLD])


def effective_for(redis, account_id):
    return effective(system_values(redis), account_values(redis, account_id))


def log_successful_attempts(redis):
    """Whether successful attempts go to the attempts log (failures always do)."""
    return redis.hget(keys.SYSTEM_SETTINGS, LOG_SUCCESSFUL_ATTEMPTS) == b"1"


def set_log_successful_attempts(redis, enabled):
    redis.hset(keys.SYSTEM_SETTINGS, LOG_SUCCESSFUL_ATTEMPTS, "1" if enabled else "0")
