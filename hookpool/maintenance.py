"""What the operator's maintenance commands do, apart from how they print.

Shared by the control script (and any other front end), so that the rules
(which hooks count as configured, which failures count) live in one place.
"""

import time
from dataclasses import dataclass

from . import failures, hooks, keys, settings


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
