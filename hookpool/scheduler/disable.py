"""The prune-and-disable pass.

For every hook that has failure entries: drop the entries older than its
account's failure window, and if the count left is at or above the account's
threshold, disable the hook (disabled by the system, reason "too many failed
attempts") and clear its entries. Only hooks listed in keys.FAILING_HOOKS are
visited, so the pass costs the same with a hundred hooks or a hundred thousand.

The per-hook step is one Lua script, so pruning, counting and disabling are
atomic: when several passes overlap, each hook is disabled (and logged) once.
"""

import logging
import time
from dataclasses import dataclass

from rq import get_current_job

from .. import defaults, keys, settings
from ..hooks import DISABLED_BY_SYSTEM, TOO_MANY_FAILURES

log = logging.getLogger(__name__)

# Accounts whose attempts logs are trimmed by age per pass; a cursor walks them all over time.
ATTEMPT_TRIM_BATCH = 500

# KEYS: failures zset, hook hash, failing set.
# ARGV: oldest score to drop (inclusive), threshold, now ms, reason, hook id, disabled_by.
# Returns {failures left, 1 if this call disabled the hook else 0}.
PRUNE_AND_DISABLE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local count = redis.call('ZCARD', KEYS[1])
if count == 0 then
    redis.call('SREM', KEYS[3], ARGV[5])
    return {0, 0}
end
if count < tonumber(ARGV[2]) or redis.call('HGET', KEYS[2], 'enabled') ~= '1' then
    return {count, 0}
end
redis.call('HSET', KEYS[2], 'enabled', '0', 'disabled_by', ARGV[6],
           'disabled_reason', ARGV[4], 'modified_ms', ARGV[3])
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[3], ARGV[5])
return {count, 1}
"""


# KEYS: the accounts set, the last-pass hash (which keeps the cursor).
# ARGV: cursor field, batch size, attempts key prefix and suffix around the account id, oldest stream id kept.
_TRIM_ATTEMPT_LOGS = """
local cursor = redis.call('HGET', KEYS[2], ARGV[1]) or '0'
local page = redis.call('SSCAN', KEYS[1], cursor, 'COUNT', ARGV[2])
for _, account_id in ipairs(page[2]) do
    redis.call('XTRIM', ARGV[3] .. account_id .. ARGV[4], 'MINID', '~', ARGV[5])
end
redis.call('HSET', KEYS[2], ARGV[1], page[1])
return #page[2]
"""


@dataclass
class PassReport:
    hooks_checked: int
    hooks_disabled: list
    failures_left: int
    duration_ms: int


def run_disable_pass():
    """RQ job, scheduled by rq-scheduler: run one pass on the job's own connection."""
    report = disable_pass(get_current_job().connection)
    return {"checked": report.hooks_checked, "disabled": report.hooks_disabled}


def disable_pass(redis, now_ms=None):
    started = time.monotonic()
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    hook_ids = sorted(m.decode() for m in redis.smembers(keys.FAILING_HOOKS))

    windows = _windows_by_hook(redis, hook_ids)
    results = _prune_and_disable(redis, hook_ids, windows, now_ms)
    disabled = [hook_id for hook_id, (_, did_disable) in results.items() if did_disable]
    for hook_id in disabled:
        log.warning("hook %s disabled: %s (%d failures within %d ms)", hook_id, TOO_MANY_FAILURES,
                    results[hook_id][0], windows[hook_id].failure_expiry_ms)

    _trim_attempt_logs(redis, now_ms)
    report = PassReport(len(hook_ids), disabled, sum(count for count, _ in results.values()),
                        int((time.monotonic() - started) * 1000))
    redis.hset(keys.DISABLE_PASS_LAST, mapping={
        "time_ms": now_ms, "hooks_checked": report.hooks_checked,
        "hooks_disabled": len(disabled), "duration_ms": report.duration_ms,
    })
    log.info("disable pass: %d hooks with failures checked, %d disabled, in %d ms",
             report.hooks_checked, len(disabled), report.duration_ms)
    return report


def _windows_by_hook(redis, hook_ids):
    """{hook_id: WindowSettings of the hook's account}, in two round trips."""
    with redis.pipeline(transaction=False) as pipe:
        for hook_id in hook_ids:
            pipe.hget(keys.hook(hook_id), "account_id")
        account_of = {h: a.decode() for h, a in zip(hook_ids, pipe.execute()) if a}

    account_ids = sorted(set(account_of.values()))
    system = settings.system_values(redis)
    with redis.pipeline(transaction=False) as pipe:
        for account_id in account_ids:
            pipe.hgetall(keys.account_settings(account_id))
        own = {a: settings.parse_values(raw) for a, raw in zip(account_ids, pipe.execute())}

    default_window = settings.effective(system, {})
    return {h: settings.effective(system, own[account_of[h]]) if h in account_of else default_window
            for h in hook_ids}


def _prune_and_disable(redis, hook_ids, windows, now_ms):
    script = redis.register_script(PRUNE_AND_DISABLE)
    with redis.pipeline(transaction=False) as pipe:
        for hook_id in hook_ids:
            window = windows[hook_id]
            script(
                keys=[keys.hook_failures(hook_id), keys.hook(hook_id), keys.FAILING_HOOKS],
                args=[now_ms - window.failure_expiry_ms, window.disable_threshold, now_ms,
                      TOO_MANY_FAILURES, hook_id, DISABLED_BY_SYSTEM],
                client=pipe,
            )
        replies = pipe.execute()
    return {hook_id: (int(count), bool(did)) for hook_id, (count, did) in zip(hook_ids, replies)}


def _trim_attempt_logs(redis, now_ms, max_age_s=defaults.ATTEMPTS_MAX_AGE_S):
    """Trim a batch of accounts' attempts logs by age, resuming where the last pass stopped.

    One script call: a pipeline of one XTRIM per account cost some 15 ms of client time per
    pass with 500 accounts, more than the rest of the pass, and it grew with the registry.
    """
    prefix, suffix = keys.account_attempts("\0").split("\0")
    redis.eval(_TRIM_ATTEMPT_LOGS, 2, keys.ACCOUNTS, keys.DISABLE_PASS_LAST,
               "trim_cursor", ATTEMPT_TRIM_BATCH, prefix, suffix, now_ms - max_age_s * 1000)
