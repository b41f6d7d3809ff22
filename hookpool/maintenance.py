"""What the operator's maintenance commands do, apart from how they print.

Shared by the control script (and any other front end), so that the rules
(which hooks count as configured, which failures count) live in one place.
"""

import logging
import time
from dataclasses import dataclass

from redis.exceptions import WatchError

from . import accounts, failures, hooks, keys, settings
from .errors import NotFound, ValidationError
from .hooks import DISABLED_BY_SYSTEM

log = logging.getLogger(__name__)

# KEYS: hook hash, its failures zset, the failing set.  ARGV: hook id, now ms, the system's disabled_by.
# Returns {outcome, failure entries cleared}. Reading and rewriting the hook in one script means a
# disable pass (or an operator) acting at the same moment is either wholly before or wholly after us:
# a hook the operator disables meanwhile is never re-enabled, and a fresh system disable is not lost.
REENABLE_IF_SYSTEM_DISABLED = """
local state = redis.call('HMGET', KEYS[1], 'enabled', 'disabled_by')
if not state[1] then
    return {'missing', 0}
end
if state[1] == '1' then
    return {'enabled', 0}
end
if state[2] ~= ARGV[3] then
    return {'operator', 0}
end
local cleared = redis.call('ZCARD', KEYS[2])
redis.call('HSET', KEYS[1], 'enabled', '1', 'disabled_by', '', 'disabled_reason', '', 'modified_ms', ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return {'reenabled', cleared}
"""


@dataclass(frozen=True)
class FailureCount:
    account_id: str
    hook_id: str
    count: int


def configured_hooks(redis, account_id=None):
    """Enabled hooks, of one account or of all."""
    return [h for h in hooks.list_hooks(redis, account_id) if h.enabled]


def failure_counts(redis, account_id=None, now_ms=None):
    """Failures inside each hook's account window, for hooks that have any; one account or all."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if account_id is not None:
        candidates = hooks.list_hooks(redis, account_id)
    else:
        candidates = hooks.load_hooks(redis, failures.failing_hook_ids(redis))

    by_account = {}
    for hook in candidates:
        by_account.setdefault(hook.account_id, []).append(hook.id)

    counts = []
    system = settings.system_values(redis)
    for each_account, hook_ids in sorted(by_account.items()):
        window = settings.effective(system, settings.account_values(redis, each_account))
        recent = failures.count_recent(redis, hook_ids, window.failure_expiry_ms, now_ms)
        counts.extend(FailureCount(each_account, h, n) for h, n in sorted(recent.items()) if n)
    return counts


def disable_pass_last_run(redis):
    """What the last disable pass recorded: {time_ms, hooks_checked, hooks_disabled, duration_ms}, or {}."""
    raw = redis.hgetall(keys.DISABLE_PASS_LAST)
    return {k.decode(): int(v) for k, v in raw.items()}


@dataclass(frozen=True)
class ReEnableReport:
    """What enable_account_hooks / enable_descendant_hooks did.

    re_enabled: hook ids the system had disabled, now enabled with their failures cleared.
    left_disabled: hook ids an operator disabled, which only an operator may enable again.
    """

    account_ids: list
    re_enabled: list
    left_disabled: list
    failures_cleared: int


def enable_account_hooks(redis, account_id, now_ms=None):
    """Re-enable the hooks of one account that the system disabled; leave the operator's alone."""
    account = accounts.get_account(redis, account_id)
    return _reenable(redis, [account.id], now_ms)


def enable_descendant_hooks(redis, account_id, now_ms=None):
    """As enable_account_hooks, for the account itself and every account below it, at any depth."""
    account = accounts.get_account(redis, account_id)
    return _reenable(redis, [account.id, *sorted(accounts.descendant_ids(redis, account.id))], now_ms)


def _reenable(redis, account_ids, now_ms):
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    hook_ids = _own_hook_ids(redis, account_ids)

    script = redis.register_script(REENABLE_IF_SYSTEM_DISABLED)
    with redis.pipeline(transaction=False) as pipe:
        for hook_id in hook_ids:
            script(keys=[keys.hook(hook_id), keys.hook_failures(hook_id), keys.FAILING_HOOKS],
                   args=[hook_id, now_ms, DISABLED_BY_SYSTEM], client=pipe)
        replies = pipe.execute()

    outcomes = {hook_id: (outcome.decode(), int(cleared)) for hook_id, (outcome, cleared) in zip(hook_ids, replies)}
    report = ReEnableReport(
        account_ids=list(account_ids),
        re_enabled=[h for h, (outcome, _) in outcomes.items() if outcome == "reenabled"],
        left_disabled=[h for h, (outcome, _) in outcomes.items() if outcome == "operator"],
        failures_cleared=sum(cleared for _, cleared in outcomes.values()),
    )
    log.info("re-enabled %d hooks of %d accounts; %d left disabled by an operator",
             len(report.re_enabled), len(account_ids), len(report.left_disabled))
    return report


def _own_hook_ids(redis, account_ids):
    """Sorted ids of the hooks these accounts own, in one round trip."""
    with redis.pipeline(transaction=False) as pipe:
        for account_id in account_ids:
            pipe.smembers(keys.account_hooks(account_id))
        return sorted(m.decode() for members in pipe.execute() for m in members)


def flush_account_failures(redis, account_id):
    """Remove the failure entries of every hook the account owns; return how many were removed."""
    account = accounts.get_account(redis, account_id)
    removed = failures.flush_hooks(redis, _own_hook_ids(redis, [account.id]))
    log.info("flushed %d failure entries of account %s", removed, account.id)
    return removed


def flush_hook_failures(redis, account_id, hook_id):
    """Remove one hook's failure entries; the hook must belong to the account. Return how many."""
    account = accounts.get_account(redis, account_id)
    hook = hooks.get_hook(redis, hook_id)
    # The operator sees every account, so "no such hook" would mislead when the hook exists elsewhere.
    if hook.account_id != account.id:
        raise ValidationError("hook", hook.id, f"belongs to account {hook.account_id}, not to {account.id}")
    removed = failures.flush_hook(redis, hook.id)
    log.info("flushed %d failure entries of hook %s", removed, hook.id)
    return removed


def set_failure_expiry(redis, expiry_ms, account_id=None):
    """Set the failure window, system-wide or for one account; return the value stored."""
    return _set_setting(redis, settings.FAILURE_EXPIRY_MS, expiry_ms, account_id)


def set_disable_threshold(redis, count, account_id=None):
    """Set how many failures inside the window disable a hook, system-wide or for one account."""
    return _set_setting(redis, settings.DISABLE_THRESHOLD, count, account_id)


def _set_setting(redis, name, value, account_id):
    number = settings.validate(name, value)
    if account_id is None:
        settings.set_system(redis, name, number)
        log.info("system %s set to %d", name, number)
        return number

    account_key = keys.account(accounts.get_account(redis, account_id).id)
    with redis.pipeline() as pipe:
        while True:
            try:
                # WATCH: an account deleted between our check and our write must not get orphan settings.
                pipe.watch(account_key)
                if not pipe.exists(account_key):
                    raise NotFound("account", account_id)
                pipe.multi()
                settings.queue_account_value(pipe, account_id, name, number)
                pipe.execute()
                break
            except WatchError:
                continue
    log.info("account %s %s set to %d", account_id, name, number)
    return number


def settings_report(redis, account_id=None):
    """{name: {default, system, account, effective}} per window setting; system and account are None when unset."""
    system = settings.system_values(redis)
    own = settings.account_values(redis, accounts.get_account(redis, account_id).id) if account_id else {}
    merged = settings.effective(system, own)
    return {
        name: {
            "default": settings.DEFAULTS[name],
            "system": system.get(name),
            "account": own.get(name),
            "effective": getattr(merged, name),
        }
        for name in settings.DEFAULTS
    }
