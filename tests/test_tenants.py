"""Item 7: one account's data never reaches another account's hooks; deleting an account leaves nothing of it.

Real redis-server, real worker processes, a real receiver; each hook delivers
to a path of its own, so the receiver tells exactly which hook got which event.
"""

import time

import pytest
from click.testing import CliRunner
from rq.registry import FailedJobRegistry

from fault_support import HoldingReceiver, add_hook, call_event, call_ids, new_account
from hookpool import accounts, hooks, keys, maintenance, queues
from hookpool.control.cli import App, cli
from hookpool.errors import ValidationError
from hookpool.events import make_event
from hookpool.publishing import publish
from hookpool.workers.jobs import enqueue_deliveries
from support import wait_for

pytestmark = pytest.mark.integration

WORKER_ENV = {"HOOKPOOL_HOOK_WORKER_SHARE": "1"}


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch):
    monkeypatch.setenv("HOOKPOOL_ALLOW_NETWORKS", "127.0.0.0/8")


@pytest.fixture
def forest(real_redis, receiver):
    """Two trees, r1 > c1 > g1 with s1 a sibling of c1, and r2 > c2; every account has an `all`
    hook including subaccounts and a channel_create hook of its own."""
    made = {}
    for name, parent in [("r1", None), ("c1", "r1"), ("g1", "c1"), ("s1", "r1"), ("r2", None), ("c2", "r2")]:
        made[name] = new_account(real_redis, name, parent_id=made[parent].id if parent else None)
        add_hook(real_redis, receiver, made[name].id, f"{name}-all", event="all", include_subaccounts=True)
        add_hook(real_redis, receiver, made[name].id, f"{name}-own")
    return made


def _received(receiver):
    """{path without the slash: sorted call ids}."""
    by_path = {}
    for request in receiver.requests:
        by_path.setdefault(request.path[1:], []).extend(call_ids([request]))
    return {path: sorted(ids) for path, ids in by_path.items()}


def test_an_event_reaches_only_its_own_accounts_hooks_and_its_ancestors_subaccount_hooks(
        real_redis, receiver, processes, forest):
    publish(real_redis, [call_event(account.id, name) for name, account in forest.items()])
    assert processes.worker(burst=True, env=WORKER_ENV).wait() == 0

    assert _received(receiver) == {
        "r1-all": ["c1", "g1", "r1", "s1"], "r1-own": ["r1"],
        "c1-all": ["c1", "g1"], "c1-own": ["c1"],
        "g1-all": ["g1"], "g1-own": ["g1"],
        "s1-all": ["s1"], "s1-own": ["s1"],
        "r2-all": ["c2", "r2"], "r2-own": ["r2"],
        "c2-all": ["c2"], "c2-own": ["c2"],
    }
    owners = {h.id: h.account_id for h in hooks.list_hooks(real_redis)}
    assert all(owners[r.headers["X-Hook-ID"]] == r.headers["X-Account-ID"] for r in receiver.requests)


def test_an_event_naming_another_account_is_delivered_as_the_publishing_account_only(
        real_redis, receiver, processes, forest):
    foreign = call_event(forest["r2"].id, "spoofed")

    publish(real_redis, [foreign], account_id=forest["c1"].id)
    assert processes.worker(burst=True, env=WORKER_ENV).wait() == 0

    assert sorted(_received(receiver)) == ["c1-all", "c1-own", "r1-all"]
    assert {dict(r.form_pairs())["account_id"] for r in receiver.requests} == {forest["c1"].id}


def test_a_stale_index_entry_never_carries_an_event_to_another_accounts_hook(real_redis, receiver, processes, forest):
    r2_own = next(h for h in hooks.list_hooks(real_redis, forest["r2"].id) if h.name == "r2-own")
    real_redis.sadd(keys.own_event_index(forest["r1"].id, "channel_create"), r2_own.id)

    publish(real_redis, [call_event(forest["r1"].id, "r1")])
    worker = processes.worker(burst=True, env=WORKER_ENV)
    assert worker.wait() == 0

    assert sorted(_received(receiver)) == ["r1-all", "r1-own"]
    assert f"skipped hook {r2_own.id}" in worker.log()


def test_a_queued_delivery_is_not_sent_to_its_hook_id_recreated_in_another_account(real_redis, receiver, processes):
    first, second = new_account(real_redis, "first"), new_account(real_redis, "second")
    original = add_hook(real_redis, receiver, first.id, "first-hook")
    enqueue_deliveries(real_redis, make_event(call_event(first.id, "private")), [original])

    hooks.delete_hook(real_redis, original.id)
    hooks.create_hook(real_redis, second.id, {"name": "second-hook", "uri": f"{receiver.url}/second-hook",
                                               "hook": "channel_create"}, hook_id=original.id)
    assert processes.worker(burst=True, env=WORKER_ENV).wait() == 0

    assert receiver.requests == []


def _keys_and_members(redis):
    """Every hookpool:* key name, and every member, field and value of its sets, sorted sets and hashes."""
    found = []
    for key in redis.scan_iter("hookpool:*"):
        found.append(key.decode())
        kind = redis.type(key).decode()
        if kind == "set":
            found += [m.decode() for m in redis.smembers(key)]
        elif kind == "zset":
            found += [m.decode() for m in redis.zrange(key, 0, -1)]
        elif kind == "hash":
            found += [part.decode() for pair in redis.hgetall(key).items() for part in pair]
    return found


def test_deleting_an_account_removes_its_subaccounts_hooks_failures_settings_and_attempts(
        real_redis, receiver, processes, forest):
    receiver.answer([500], path="/c1-own")
    maintenance.set_failure_expiry(real_redis, 30_000, forest["c1"].id)
    maintenance.set_disable_threshold(real_redis, 50, forest["g1"].id)
    publish(real_redis, [call_event(forest["c1"].id, "c1"), call_event(forest["g1"].id, "g1")])
    assert processes.worker(burst=True, env={**WORKER_ENV, "HOOKPOOL_RETRY_BACKOFF_S": "0"}).wait() == 0
    doomed = [forest["c1"].id, forest["g1"].id]
    doomed += [h.id for account_id in doomed for h in hooks.list_hooks(real_redis, account_id)]
    assert real_redis.exists(keys.hook_failures(doomed[2])) or real_redis.exists(keys.hook_failures(doomed[3]))

    accounts.delete_account(real_redis, forest["c1"].id, recursive=True)

    left = _keys_and_members(real_redis)
    assert [item for item in left if any(d in item for d in doomed)] == []
    assert accounts.exists(real_redis, forest["s1"].id) and accounts.exists(real_redis, forest["r1"].id)


def test_an_attempt_in_flight_when_its_account_is_deleted_leaves_no_key_behind(real_redis, processes):
    receiver = HoldingReceiver()
    receiver.start()
    try:
        account = new_account(real_redis, "leaving")
        receiver.answer([500], path="/held")
        hook = add_hook(real_redis, receiver, account.id, "held", retries=0)
        receiver.hold("/held")
        processes.worker(env=WORKER_ENV)
        publish(real_redis, [call_event(account.id, "last")])
        wait_for(lambda: receiver.requests_to("/held"), timeout_s=15, what="the attempt")

        accounts.delete_account(real_redis, account.id)
        receiver.release()
        wait_for(lambda: FailedJobRegistry(queues.DELIVERIES, connection=real_redis).count, timeout_s=15,
                 what="the attempt to end (as failed: retries 0)")
    finally:
        receiver.stop()

    time.sleep(0.5)
    assert [item for item in _keys_and_members(real_redis) if account.id in item or hook.id in item] == []


def test_commands_naming_one_account_and_another_accounts_hook_are_refused(real_redis, receiver, forest):
    r2_own = next(h for h in hooks.list_hooks(real_redis, forest["r2"].id) if h.name == "r2-own")
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, list(args), obj=App(None, client=real_redis))

    refused = run("flush-hook-failures", forest["r1"].id, r2_own.id)
    listed = run("hooks", "list", forest["r1"].id, "--json")

    assert refused.exit_code == 1
    assert f"hook: {r2_own.id!r} belongs to account {forest['r2'].id}, not to {forest['r1'].id}" in refused.output
    assert r2_own.id not in listed.output and forest["r2"].id not in listed.output


def test_a_hook_id_another_account_uses_is_refused_and_its_hook_left_intact(fake_redis):
    first, second = new_account(fake_redis, "first"), new_account(fake_redis, "second")
    taken = hooks.create_hook(fake_redis, first.id, {"name": "mine", "uri": "https://example.com/a",
                                                     "hook": "channel_create"})

    with pytest.raises(ValidationError, match="is already a hook"):
        hooks.create_hook(fake_redis, second.id, {"name": "theirs", "uri": "https://example.com/b",
                                                  "hook": "channel_create"}, hook_id=taken.id)

    assert hooks.get_hook(fake_redis, taken.id) == taken
    assert hooks.list_hooks(fake_redis, second.id) == []
