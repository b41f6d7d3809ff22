"""A known data set for the control script's tests, and a way to run commands on it.

The tree:  reseller (111...) > customer (222...) > office (333...), and other (444...) apart.

    hook aaa...  reseller  channel_create post  3  enabled, include_subaccounts
    hook bbb...  customer  channel_answer get   2  disabled by the system; 2 late failures since
    hook ccc...  customer  channel_bridge put   1  disabled by an operator; 1 failure
    hook ddd...  office    channel_destroy post 0  disabled by the system
    hook eee...  office    parking get          4  enabled; 2 failures in the window, 1 outside the office's
    hook fff...  other     all post             2  disabled by the system

The office's own failure window is 30 s; the system's is the default, 60 s.
System disables come from a real disable pass, not from writing the fields.
"""

import time

from click.testing import CliRunner

from hookpool import accounts, failures, hooks, settings
from hookpool.control.cli import App, cli
from hookpool.scheduler.disable import disable_pass

RESELLER = "1" * 32
CUSTOMER = "2" * 32
OFFICE = "3" * 32
OTHER = "4" * 32
UNKNOWN_ACCOUNT = "9" * 32

CALLS = "a" * 32
ANSWERED_SYSTEM = "b" * 32
BRIDGED_OPERATOR = "c" * 32
ENDED_SYSTEM = "d" * 32
PARKING = "e" * 32
OTHER_SYSTEM = "f" * 32

OFFICE_EXPIRY_MS = 30_000
BASE_URI = "https://93.184.215.14"


def run(redis, *args):
    """Run `hookpool ARGS` in-process on this Redis client; stderr is kept apart in result.stderr."""
    return CliRunner().invoke(cli, [str(a) for a in args], obj=App(None, client=redis))


def build(redis, now_ms=None):
    """Write the data set; return the now_ms its failure times are relative to."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    accounts.create_account(redis, "Reseller", account_id=RESELLER, now_ms=now_ms)
    accounts.create_account(redis, "Customer", parent_id=RESELLER, account_id=CUSTOMER, now_ms=now_ms)
    accounts.create_account(redis, "Office", parent_id=CUSTOMER, account_id=OFFICE, now_ms=now_ms)
    accounts.create_account(redis, "Other", account_id=OTHER, now_ms=now_ms)
    settings.set_account(redis, OFFICE, settings.FAILURE_EXPIRY_MS, OFFICE_EXPIRY_MS)

    _hook(redis, RESELLER, CALLS, "calls", "channel_create", "post", 3, include_subaccounts=True)
    _hook(redis, CUSTOMER, ANSWERED_SYSTEM, "answered", "channel_answer", "get", 2)
    _hook(redis, CUSTOMER, BRIDGED_OPERATOR, "bridged", "channel_bridge", "put", 1)
    _hook(redis, OFFICE, ENDED_SYSTEM, "ended", "channel_destroy", "post", 0)
    _hook(redis, OFFICE, PARKING, "parking", "parking", "get", 4)
    _hook(redis, OTHER, OTHER_SYSTEM, "everything", "all", "post", 2)

    for hook_id in (ANSWERED_SYSTEM, ENDED_SYSTEM, OTHER_SYSTEM):
        fail(redis, hook_id, [now_ms - 1000 - i for i in range(settings.DEFAULTS[settings.DISABLE_THRESHOLD])])
    disabled = disable_pass(redis, now_ms=now_ms).hooks_disabled
    assert sorted(disabled) == [ANSWERED_SYSTEM, ENDED_SYSTEM, OTHER_SYSTEM]
    hooks.set_enabled(redis, BRIDGED_OPERATOR, False)

    # After the pass: deliveries already under way when a hook was disabled still fail late.
    fail(redis, ANSWERED_SYSTEM, [now_ms - 500, now_ms - 400])
    fail(redis, BRIDGED_OPERATOR, [now_ms - 300])
    fail(redis, PARKING, [now_ms - 200, now_ms - 100, now_ms - 45_000])
    return now_ms


def _hook(redis, account_id, hook_id, name, event, verb, retries, include_subaccounts=False):
    fields = {"name": name, "uri": f"{BASE_URI}/{name}", "hook": event, "http_verb": verb, "retries": retries,
              "include_subaccounts": include_subaccounts}
    hooks.create_hook(redis, account_id, fields, hook_id=hook_id)


def fail(redis, hook_id, times_ms):
    with redis.pipeline() as pipe:
        for number, time_ms in enumerate(times_ms, start=1):
            failures.record_failure(pipe, hook_id, f"delivery{time_ms}", number, time_ms)
        pipe.execute()
