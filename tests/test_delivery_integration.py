"""The whole pipeline on a real redis-server: publish, fan out, deliver, retry, record failures.

Workers are real processes (tests/run_role.py); the receiver is a real HTTP
server in this process.
"""

import time

import pytest
from rq import Queue
from rq.registry import FailedJobRegistry

from hookpool import accounts, attempts, hooks, keys, queues
from hookpool.publishing import publish
from support import wait_for

pytestmark = pytest.mark.integration

ROOT_ID = "a" * 32
CHILD_ID = "b" * 32
GRANDCHILD_ID = "c" * 32
SIBLING_ID = "d" * 32
# Longer than any backoff a fourth attempt could have waited with HOOKPOOL_RETRY_BACKOFF_S=1.
QUIET_PERIOD_S = 3.0
# Fourteen hours ahead of UTC: a retry scheduled in local time would never come in time.
FAR_FROM_UTC = {"TZ": "Pacific/Kiritimati"}


def add_hook(redis, receiver, account_id, name, **fields):
    return hooks.create_hook(redis, account_id, {
        "name": name, "uri": f"{receiver.url}/{name}", "hook": "channel_create", **fields,
    })


def call_in(account_id):
    return {"account_id": account_id, "hook_event": "channel_create", "call_id": "call-1"}


def test_an_event_in_a_grandchild_fires_its_own_hooks_and_its_ancestors_subaccount_hooks_only(
        real_redis, receiver, processes):
    accounts.create_account(real_redis, "root", account_id=ROOT_ID)
    accounts.create_account(real_redis, "child", parent_id=ROOT_ID, account_id=CHILD_ID)
    accounts.create_account(real_redis, "grandchild", parent_id=CHILD_ID, account_id=GRANDCHILD_ID)
    accounts.create_account(real_redis, "sibling", parent_id=CHILD_ID, account_id=SIBLING_ID)
    own = add_hook(real_redis, receiver, GRANDCHILD_ID, "grandchild-own")
    add_hook(real_redis, receiver, GRANDCHILD_ID, "grandchild-all", hook="all")
    add_hook(real_redis, receiver, GRANDCHILD_ID, "grandchild-other-event", hook="channel_destroy")
    add_hook(real_redis, receiver, CHILD_ID, "child-below", include_subaccounts=True)
    add_hook(real_redis, receiver, CHILD_ID, "child-own-only")
    add_hook(real_redis, receiver, ROOT_ID, "root-below", hook="all", include_subaccounts=True)
    add_hook(real_redis, receiver, ROOT_ID, "root-own-only", hook="all")
    add_hook(real_redis, receiver, SIBLING_ID, "sibling-below", hook="all", include_subaccounts=True)
    add_hook(real_redis, receiver, SIBLING_ID, "sibling-own")

    publish(real_redis, [call_in(GRANDCHILD_ID)])
    # A burst worker stops once every queue is empty, so when it exits every delivery has been made.
    assert processes.worker(burst=True).wait() == 0

    assert sorted(r.path for r in receiver.requests) == [
        "/child-below", "/grandchild-all", "/grandchild-own", "/root-below",
    ]
    own_request = receiver.requests_to("/grandchild-own")[0]
    assert own_request.headers["X-Hook-ID"] == own.id
    assert own_request.headers["X-Account-ID"] == GRANDCHILD_ID
    assert own_request.form_pairs() == [("account_id", GRANDCHILD_ID), ("hook_event", "channel_create"),
                                        ("call_id", "call-1")]
    delivery_ids = {r.headers["X-Delivery-ID"] for r in receiver.requests}
    assert len(delivery_ids) == 4


@pytest.fixture
def account(real_redis):
    return accounts.create_account(real_redis, "tenant", account_id=ROOT_ID)


def test_a_delivery_that_always_fails_is_sent_retries_plus_one_times_and_then_never_again(
        real_redis, receiver, processes, account):
    receiver.answer([500], path="/always-500")
    hook = add_hook(real_redis, receiver, ROOT_ID, "always-500", retries=2)
    processes.worker(env=FAR_FROM_UTC)

    publish(real_redis, [call_in(ROOT_ID)])
    wait_for(lambda: len(receiver.requests_to("/always-500")) >= 3, what="three attempts")
    failed = FailedJobRegistry(queues.DELIVERIES, connection=real_redis)
    wait_for(lambda: failed.count == 1, what="the delivery to be filed as failed")
    time.sleep(QUIET_PERIOD_S)

    sent = receiver.requests_to("/always-500")
    assert len(sent) == 3
    assert len({r.headers["X-Delivery-ID"] for r in sent}) == 1
    assert [r.headers["X-Delivery-Attempt"] for r in sent] == ["1", "2", "3"]
    assert real_redis.zcard(keys.hook_failures(hook.id)) == 3
    assert real_redis.sismember(keys.FAILING_HOOKS, hook.id)
    assert failed.get_job_ids() == [sent[0].headers["X-Delivery-ID"]]


def test_a_delivery_that_succeeds_on_the_third_try_records_two_failures(real_redis, receiver, processes, account):
    receiver.answer([500, 500, 200], path="/flaky")
    hook = add_hook(real_redis, receiver, ROOT_ID, "flaky", retries=2)
    processes.worker()

    publish(real_redis, [call_in(ROOT_ID)])
    sent = wait_for(lambda: receiver.requests_to("/flaky")[2:] and receiver.requests_to("/flaky"),
                    what="three attempts")
    # A delivered job is deleted at once (result_ttl 0): its key going is the sign it finished.
    job_key = f"rq:job:{sent[0].headers['X-Delivery-ID']}"
    wait_for(lambda: not real_redis.exists(job_key), what="the delivery job to finish")

    assert len(receiver.requests_to("/flaky")) == 3
    assert len({r.headers["X-Delivery-ID"] for r in sent}) == 1
    assert [r.headers["X-Delivery-Attempt"] for r in sent] == ["1", "2", "3"]
    assert real_redis.zcard(keys.hook_failures(hook.id)) == 2
    assert FailedJobRegistry(queues.DELIVERIES, connection=real_redis).count == 0


def test_each_failed_attempt_is_in_the_attempts_log_with_its_try_and_retries_left(
        real_redis, receiver, processes, account):
    receiver.answer([503, 503, 204], path="/logged")
    hook = add_hook(real_redis, receiver, ROOT_ID, "logged", retries=2, http_verb="put", format="json")
    processes.worker()

    publish(real_redis, [call_in(ROOT_ID)])
    wait_for(lambda: len(receiver.requests_to("/logged")) == 3, what="three attempts")
    logged = wait_for(lambda: attempts.read(real_redis, ROOT_ID, hook_id=hook.id, failed_only=True)[1:] and
                      attempts.read(real_redis, ROOT_ID, hook_id=hook.id, failed_only=True),
                      what="two failed attempts in the log")

    oldest_first = list(reversed(logged))
    assert [(e["try"], e["retries_left"], e["status"], e["result"]) for e in oldest_first] == [
        (1, 2, 503, "status"), (2, 1, 503, "status"),
    ]
    assert all(e["verb"] == "PUT" and e["uri"] == hook.uri for e in oldest_first)
    assert len({e["delivery_id"] for e in oldest_first}) == 1


def test_a_hook_with_no_retries_is_tried_once(real_redis, receiver, processes, account):
    receiver.answer([500], path="/once")
    hook = add_hook(real_redis, receiver, ROOT_ID, "once", retries=0)

    publish(real_redis, [call_in(ROOT_ID)])
    assert processes.worker(burst=True).wait() == 0

    assert len(receiver.requests_to("/once")) == 1
    assert real_redis.zcard(keys.hook_failures(hook.id)) == 1
    assert Queue(queues.DELIVERIES, connection=real_redis).count == 0
