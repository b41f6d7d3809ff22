"""Fan-out: which hooks an event fires, run through the real fan_out job on an in-memory Redis."""

import logging

import pytest
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.registry import FailedJobRegistry

from hookpool import accounts, defaults, hooks, queues
from hookpool.events import make_event, payload_for
from hookpool.publishing import FAN_OUT, publish
from hookpool.workers import jobs

ROOT_ID = "a" * 32
CHILD_ID = "b" * 32
GRANDCHILD_ID = "c" * 32
SIBLING_ID = "d" * 32


@pytest.fixture
def tree(fake_redis):
    """root -> child -> grandchild; and sibling, the child's sibling under root."""
    accounts.create_account(fake_redis, "root", account_id=ROOT_ID)
    accounts.create_account(fake_redis, "child", parent_id=ROOT_ID, account_id=CHILD_ID)
    accounts.create_account(fake_redis, "grandchild", parent_id=CHILD_ID, account_id=GRANDCHILD_ID)
    accounts.create_account(fake_redis, "sibling", parent_id=ROOT_ID, account_id=SIBLING_ID)
    return fake_redis


def add_hook(redis, account_id, name, event="channel_create", **fields):
    hook = hooks.create_hook(redis, account_id, {"name": name, "uri": f"https://93.184.215.14/{name}",
                                                 "hook": event, **fields})
    return hook.id


def fired(redis, payload, event_type=None):
    """Publish one event, run its fan-out job, and return {hook name: payload delivered}."""
    publish(redis, [payload], event_type=event_type)
    SimpleWorker([Queue(queues.EVENTS, connection=redis)], connection=redis).work(burst=True)

    deliveries = Queue(queues.DELIVERIES, connection=redis)
    delivered = {}
    for job in deliveries.jobs:
        args = job.args[0]
        hook = hooks.get_hook(redis, args["hook_id"])
        delivered[hook.name] = payload_for(hook, make_event(args["event"]["payload"], args["event"]["event_type"]))
    deliveries.empty()
    return delivered


def call_in(account_id, event="channel_create", **extra):
    return {"account_id": account_id, "hook_event": event, "call_id": "call-1", **extra}


def test_an_event_fires_the_accounts_own_hooks_for_that_event_and_for_all(tree):
    add_hook(tree, GRANDCHILD_ID, "create")
    add_hook(tree, GRANDCHILD_ID, "everything", event="all")
    add_hook(tree, GRANDCHILD_ID, "answer", event="channel_answer")

    assert set(fired(tree, call_in(GRANDCHILD_ID))) == {"create", "everything"}


def test_ancestors_hooks_fire_only_when_they_include_subaccounts(tree):
    add_hook(tree, CHILD_ID, "parent-below", include_subaccounts=True)
    add_hook(tree, CHILD_ID, "parent-own-only")
    add_hook(tree, ROOT_ID, "root-all-below", event="all", include_subaccounts=True)
    add_hook(tree, ROOT_ID, "root-other-event-below", event="channel_destroy", include_subaccounts=True)
    add_hook(tree, ROOT_ID, "root-own-only", event="all")

    assert set(fired(tree, call_in(GRANDCHILD_ID))) == {"parent-below", "root-all-below"}


def test_an_event_never_reaches_a_sibling_or_a_descendant(tree):
    add_hook(tree, SIBLING_ID, "sibling-below", event="all", include_subaccounts=True)
    add_hook(tree, SIBLING_ID, "sibling-own")
    add_hook(tree, GRANDCHILD_ID, "grandchild-own")

    assert fired(tree, call_in(CHILD_ID)) == {}


def test_a_hook_including_subaccounts_still_fires_for_its_own_account(tree):
    add_hook(tree, CHILD_ID, "parent-below", include_subaccounts=True)

    assert set(fired(tree, call_in(CHILD_ID))) == {"parent-below"}


def test_a_disabled_hook_does_not_fire(tree):
    hook_id = add_hook(tree, GRANDCHILD_ID, "create")
    hooks.set_enabled(tree, hook_id, False)

    assert fired(tree, call_in(GRANDCHILD_ID)) == {}


def test_internal_legs_are_skipped_only_by_hooks_that_exclude_them(tree):
    add_hook(tree, GRANDCHILD_ID, "with-legs")
    add_hook(tree, GRANDCHILD_ID, "without-legs", include_internal_legs=False)

    assert set(fired(tree, call_in(GRANDCHILD_ID, is_internal_leg=True))) == {"with-legs"}
    assert set(fired(tree, call_in(GRANDCHILD_ID, is_internal_leg=False))) == {"with-legs", "without-legs"}
    assert set(fired(tree, call_in(GRANDCHILD_ID))) == {"with-legs", "without-legs"}


def test_a_notifications_hook_fires_only_for_the_notification_it_names(tree):
    add_hook(tree, CHILD_ID, "voicemails", event="notifications", custom_data={"type": "voicemail_new"})
    add_hook(tree, CHILD_ID, "every-notification", event="notifications", custom_data={"type": "all"})
    add_hook(tree, CHILD_ID, "everything", event="all")

    voicemail = {"account_id": CHILD_ID, "event_name": "voicemail_new"}
    fax = {"account_id": CHILD_ID, "event_name": "inbound_fax"}

    assert set(fired(tree, voicemail, "notifications")) == {"voicemails", "every-notification", "everything"}
    assert set(fired(tree, fax, "notifications")) == {"every-notification", "everything"}


@pytest.mark.parametrize(("change", "expected"), [
    ({"type": "user", "action": "doc_created"}, {"user-created", "any-user-change", "any-created"}),
    ({"type": "user", "action": "doc_deleted"}, {"any-user-change"}),
    ({"type": "device", "action": "doc_created"}, {"any-created"}),
    ({"type": "device", "action": "doc_edited"}, set()),
])
def test_an_object_hook_fires_only_for_its_document_type_and_action(tree, change, expected):
    add_hook(tree, CHILD_ID, "user-created", event="object", custom_data={"type": "user", "action": "doc_created"})
    add_hook(tree, CHILD_ID, "any-user-change", event="object", custom_data={"type": "user", "action": "all"})
    add_hook(tree, CHILD_ID, "any-created", event="object", custom_data={"type": "all", "action": "doc_created"})

    payload = {"account_id": CHILD_ID, "id": "doc-1", **change}

    assert set(fired(tree, payload, "object")) == expected


def test_custom_data_is_merged_over_the_event_but_modifiers_are_not(tree):
    add_hook(tree, GRANDCHILD_ID, "tagged", custom_data={"tenant": "acme", "call_id": "replaced"})
    add_hook(tree, GRANDCHILD_ID, "voicemails", event="notifications",
             custom_data={"type": "voicemail_new", "source": "pbx"})

    call = fired(tree, call_in(GRANDCHILD_ID))["tagged"]
    notification = fired(tree, {"account_id": GRANDCHILD_ID, "event_name": "voicemail_new", "type": "kept"},
                         "notifications")["voicemails"]

    assert call == {**call_in(GRANDCHILD_ID), "tenant": "acme", "call_id": "replaced"}
    assert notification["source"] == "pbx"
    assert notification["type"] == "kept"


def test_each_hook_gets_its_own_delivery_job_with_its_own_id(tree):
    for name in ("one", "two", "three"):
        add_hook(tree, GRANDCHILD_ID, name)
    publish(tree, [call_in(GRANDCHILD_ID)])
    SimpleWorker([Queue(queues.EVENTS, connection=tree)], connection=tree).work(burst=True)

    jobs = Queue(queues.DELIVERIES, connection=tree).jobs

    assert len(jobs) == 3
    assert len({job.id for job in jobs}) == 3
    assert len({job.args[0]["hook_id"] for job in jobs}) == 3


def test_an_event_for_an_account_deleted_after_publishing_is_dropped(tree):
    add_hook(tree, GRANDCHILD_ID, "create")
    publish(tree, [call_in(GRANDCHILD_ID)])
    accounts.delete_account(tree, GRANDCHILD_ID)

    SimpleWorker([Queue(queues.EVENTS, connection=tree)], connection=tree).work(burst=True)

    assert Queue(queues.DELIVERIES, connection=tree).count == 0


def run_fan_outs(redis):
    SimpleWorker([Queue(queues.EVENTS, connection=redis)], connection=redis).work(burst=True)


def deliveries_by_call(redis):
    """{call_id: sorted delivery ids} of the deliveries queued so far."""
    by_call = {}
    for job in Queue(queues.DELIVERIES, connection=redis).jobs:
        by_call.setdefault(job.args[0]["event"]["payload"]["call_id"], []).append(job.id)
    return {call_id: sorted(ids) for call_id, ids in by_call.items()}


def test_every_event_of_a_batch_gets_its_own_deliveries_with_ids_derived_from_its_own_id(tree):
    hook_ids = [add_hook(tree, GRANDCHILD_ID, name) for name in ("one", "two")]
    below = add_hook(tree, ROOT_ID, "below", include_subaccounts=True)
    calls = [call_in(GRANDCHILD_ID, call_id="in-grandchild"), call_in(CHILD_ID, call_id="in-child"),
             call_in(SIBLING_ID, event="channel_answer", call_id="answered")]

    event_ids = publish(tree, calls)
    run_fan_outs(tree)

    assert Queue(queues.EVENTS, connection=tree).count == 0
    assert deliveries_by_call(tree) == {
        "in-grandchild": sorted(jobs._delivery_id(event_ids[0], h) for h in hook_ids + [below]),
        "in-child": [jobs._delivery_id(event_ids[1], below)],
    }


@pytest.mark.parametrize("bad_index", [0, 1, 2])
def test_an_event_whose_fan_out_fails_is_set_apart_in_a_job_of_its_own_and_the_rest_are_delivered(
        tree, monkeypatch, caplog, bad_index):
    add_hook(tree, GRANDCHILD_ID, "create")
    real_lookup = hooks.hooks_for_event

    def failing_for_bad_calls(redis, event, ancestor_ids):
        if event.payload["call_id"] == "bad":
            raise ValueError("index unreadable")
        return real_lookup(redis, event, ancestor_ids)

    monkeypatch.setattr(hooks, "hooks_for_event", failing_for_bad_calls)
    calls = [call_in(GRANDCHILD_ID, call_id=c) for c in ("good-1", "good-2")]
    # Its own type, so its own index lookup rather than the batch's cached one.
    calls.insert(bad_index, call_in(GRANDCHILD_ID, event="channel_answer", call_id="bad"))

    event_ids = publish(tree, calls)
    run_fan_outs(tree)

    assert sorted(deliveries_by_call(tree)) == ["good-1", "good-2"]
    set_apart_id = jobs.set_apart_job_id(event_ids[bad_index])
    assert FailedJobRegistry(queues.EVENTS, connection=tree).get_job_ids() == [set_apart_id]
    [set_apart] = Job.fetch(set_apart_id, connection=tree).args[0]
    assert (set_apart["event_id"], set_apart["payload"]["call_id"]) == (event_ids[bad_index], "bad")
    assert f"event {event_ids[bad_index]}: fan-out failed; moved to fan-out job {set_apart_id} of its own" in caplog.text


def test_a_fan_out_run_again_after_it_enqueued_its_deliveries_enqueues_nothing_more(tree, caplog):
    add_hook(tree, GRANDCHILD_ID, "create")
    add_hook(tree, GRANDCHILD_ID, "everything", event="all")
    event_ids = publish(tree, [call_in(GRANDCHILD_ID, call_id=str(n)) for n in range(2)])
    job = Job.fetch(event_ids[0], connection=tree)

    assert job.perform() == 4
    queued = Queue(queues.DELIVERIES, connection=tree).job_ids
    assert job.perform() == 0  # as after its worker died between the MULTI and the job's end

    assert Queue(queues.DELIVERIES, connection=tree).job_ids == queued and len(queued) == 4
    assert f"fan-out {job.id} was interrupted after enqueuing its deliveries" in caplog.text


def test_a_fan_out_job_holding_one_event_as_an_earlier_hookpool_enqueued_it_still_fans_out(tree):
    hook_id = add_hook(tree, GRANDCHILD_ID, "create")
    event = make_event(call_in(GRANDCHILD_ID))
    queue = Queue(queues.EVENTS, connection=tree)
    job = queue.enqueue(FAN_OUT, event.to_job_args(), result_ttl=0)

    run_fan_outs(tree)

    [delivery] = Queue(queues.DELIVERIES, connection=tree).jobs
    assert delivery.id == jobs._delivery_id(job.id, hook_id)
    assert delivery.args[0]["event"]["payload"] == event.payload


def test_events_of_one_batch_read_an_accounts_hooks_once(tree, monkeypatch):
    add_hook(tree, GRANDCHILD_ID, "create")
    lookups = []
    real_lookup = hooks.hooks_for_event

    def counted_lookup(redis, event, ancestor_ids):
        lookups.append(event)
        return real_lookup(redis, event, ancestor_ids)

    monkeypatch.setattr(hooks, "hooks_for_event", counted_lookup)

    publish(tree, [call_in(GRANDCHILD_ID, call_id=str(n)) for n in range(5)])
    run_fan_outs(tree)

    assert len(lookups) == 1
    assert len(deliveries_by_call(tree)) == 5


def test_events_past_the_delivery_bound_of_a_fan_out_job_are_carried_over_to_a_new_one(tree, monkeypatch, caplog):
    monkeypatch.setattr(defaults, "FAN_OUT_MAX_DELIVERIES", 3)
    hook_ids = [add_hook(tree, GRANDCHILD_ID, name) for name in ("one", "two")]
    event_ids = publish(tree, [call_in(GRANDCHILD_ID, call_id=str(n)) for n in range(3)])
    carried = []
    real_fan_out_job_data = jobs.fan_out_job_data

    def noted_fan_out_job_data(queue, batch, on_failure):
        carried.append([event_id for event_id, _ in batch])
        return real_fan_out_job_data(queue, batch, on_failure)

    monkeypatch.setattr(jobs, "fan_out_job_data", noted_fan_out_job_data)
    caplog.set_level(logging.INFO, logger="hookpool")

    run_fan_outs(tree)

    assert carried == [[event_ids[2]]]  # two events gave four deliveries; the third went on alone
    assert deliveries_by_call(tree) == {str(n): sorted(jobs._delivery_id(event_ids[n], h) for h in hook_ids)
                                        for n in range(3)}
    assert f"the other 1 events go on in fan-out job {event_ids[2]}" in caplog.text
