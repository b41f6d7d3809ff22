"""Kazoo's webhooks endpoints through Flask's test client, on fakeredis."""

import pytest

from api_support import HOOK, Api, field_error
from hookpool import failures, hooks, maintenance


@pytest.fixture
def api(fake_redis):
    return Api(fake_redis)


def test_a_hook_created_with_put_is_listed_and_shown_in_kazoos_envelope(api):
    account_id = api.account()

    created = api.call("PUT", f"/v2/accounts/{account_id}/webhooks", {**HOOK, "retries": 3})
    listed = api.call("GET", f"/v2/accounts/{account_id}/webhooks")
    shown = api.call("GET", f"/v2/accounts/{account_id}/webhooks/{created.json['data']['id']}")

    assert created.status_code == 201
    assert created.json["status"] == "success" and created.json["request_id"]
    hook = created.json["data"]
    assert (hook["account_id"], hook["retries"], hook["http_verb"], hook["format"]) == (account_id, 3, "post", "form-data")
    assert [h["id"] for h in listed.json["data"]] == [hook["id"]]
    assert shown.json["data"] == hook


def test_a_request_id_sent_by_the_client_is_echoed_in_body_and_header(api):
    answer = api.client.get("/v2/webhooks", headers={"X-Auth-Token": api.system_key, "X-Request-ID": "abc-123"})

    assert answer.json["request_id"] == "abc-123"
    assert answer.headers["X-Request-ID"] == "abc-123"


def test_a_signing_secret_asked_for_is_shown_once_and_never_again(api):
    account_id = api.account()

    created = api.hook(account_id, secret=True)
    shown = api.call("GET", f"/v2/accounts/{account_id}/webhooks/{created['id']}").json["data"]

    assert created["secret"].startswith("whsec_") and created["signed"] is True
    assert "secret" not in shown and shown["signed"] is True


@pytest.mark.parametrize("fields, field, rule", [
    ({"retries": 9}, "retries", "range"),
    ({"http_verb": "patch"}, "http_verb", "enum"),
    ({"hook": "channel_explode"}, "hook", "enum"),
    ({"enabled": "yes"}, "enabled", "type"),
    ({"uri": "ftp://example.com/x"}, "uri", "invalid"),
    ({"name": ""}, "name", "required"),
    ({"colour": "blue"}, "field", "unknown_field"),
    ({"hook": "object", "custom_data": {"type": "user"}}, "custom_data.action", "required"),
])
def test_bad_hook_fields_answer_400_in_kazoos_shape_naming_field_and_rule(api, fields, field, rule):
    account_id = api.account()

    answer = api.call("PUT", f"/v2/accounts/{account_id}/webhooks", {**HOOK, **fields})

    assert field_error(answer) == (field, rule)
    assert hooks.list_hooks(api.redis, account_id) == []


def test_a_missing_required_field_answers_400_required(api):
    answer = api.call("PUT", f"/v2/accounts/{api.account()}/webhooks", {"name": "x", "hook": "all"})

    assert field_error(answer) == ("uri", "required")
    assert answer.json["data"]["uri"]["required"]["message"] == "uri is required"


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"name": "x"}', b'{"data": [1]}', b""])
def test_a_body_that_is_not_kazoos_envelope_answers_400_on_data(api, body):
    answer = api.call("PUT", f"/v2/accounts/{api.account()}/webhooks", body=body,
                      content_type="application/json")

    assert field_error(answer)[0] == "data"


def test_a_lone_surrogate_escape_in_any_string_answers_400_not_500(api):
    body = b'{"data": {"name": "\\ud800", "uri": "https://example.com/x", "hook": "all"}}'

    answer = api.call("PUT", f"/v2/accounts/{api.account()}/webhooks", body=body, content_type="application/json")

    assert field_error(answer)[0] == "data"


def test_post_replaces_every_field_and_absent_ones_take_their_defaults(api):
    account_id = api.account()
    hook = api.hook(account_id, retries=4, http_verb="get", custom_data={"a": "b"})

    answer = api.call("POST", f"/v2/accounts/{account_id}/webhooks/{hook['id']}",
                      {"name": "renamed", "uri": "https://example.com/new", "hook": "all"})

    replaced = answer.json["data"]
    assert answer.status_code == 200
    assert (replaced["name"], replaced["hook"], replaced["retries"], replaced["http_verb"], replaced["custom_data"]) == \
        ("renamed", "all", 2, "post", {})
    assert replaced["created_ms"] == hook["created_ms"]


def test_post_without_a_required_field_changes_nothing(api):
    account_id = api.account()
    hook = api.hook(account_id)

    answer = api.call("POST", f"/v2/accounts/{account_id}/webhooks/{hook['id']}", {"name": "renamed"})

    assert field_error(answer) == ("uri", "required")
    assert hooks.get_hook(api.redis, hook["id"]).name == HOOK["name"]


def test_a_fetched_hook_sent_back_whole_with_post_is_accepted(api):
    account_id = api.account()
    hook = api.hook(account_id)

    answer = api.call("POST", f"/v2/accounts/{account_id}/webhooks/{hook['id']}", {**hook, "name": "again"})

    assert answer.status_code == 200 and answer.json["data"]["name"] == "again"


def test_patch_changes_only_the_fields_sent(api):
    account_id = api.account()
    hook = api.hook(account_id, retries=4)

    answer = api.call("PATCH", f"/v2/accounts/{account_id}/webhooks/{hook['id']}", {"format": "json"})

    assert (answer.json["data"]["format"], answer.json["data"]["retries"]) == ("json", 4)


def test_patch_enabled_true_reenables_a_hook_and_clears_its_failures(api):
    account_id = api.account()
    hook = api.hook(account_id)
    hooks.set_enabled(api.redis, hook["id"], False)
    failures.record_failure(api.redis, hook["id"], "d1", 1, 1000)

    answer = api.call("PATCH", f"/v2/accounts/{account_id}/webhooks/{hook['id']}", {"enabled": True})

    assert answer.json["data"]["enabled"] is True and answer.json["data"]["disabled_by"] == ""
    assert api.redis.zcard(f"hookpool:hook:{hook['id']}:failures") == 0


def test_patch_cannot_set_a_secret_after_creation(api):
    account_id = api.account()
    hook = api.hook(account_id)

    answer = api.call("PATCH", f"/v2/accounts/{account_id}/webhooks/{hook['id']}", {"secret": True})

    assert field_error(answer) == ("secret", "invalid")


def test_delete_removes_the_hook_and_answers_with_it(api):
    account_id = api.account()
    hook = api.hook(account_id)

    deleted = api.call("DELETE", f"/v2/accounts/{account_id}/webhooks/{hook['id']}")
    again = api.call("GET", f"/v2/accounts/{account_id}/webhooks/{hook['id']}")

    assert deleted.json["data"]["id"] == hook["id"]
    assert again.status_code == 404 and again.json["message"] == "bad_identifier"


def _disable_by_system(redis, hook_id):
    redis.hset(f"hookpool:hook:{hook_id}", mapping={"enabled": 0, "disabled_by": "system",
                                                    "disabled_reason": hooks.TOO_MANY_FAILURES})


def test_patch_reenable_on_the_account_touches_only_hooks_the_system_disabled(api):
    account_id = api.account()
    by_system, by_operator = api.hook(account_id), api.hook(account_id, name="held")
    _disable_by_system(api.redis, by_system["id"])
    hooks.set_enabled(api.redis, by_operator["id"], False)

    answer = api.call("PATCH", f"/v2/accounts/{account_id}/webhooks", {"re-enable": True})

    assert answer.json["data"]["re_enabled"] == [by_system["id"]]
    assert answer.json["data"]["left_disabled"] == [by_operator["id"]]
    assert hooks.get_hook(api.redis, by_operator["id"]).enabled is False


def test_patch_reenable_on_descendants_reaches_every_subaccount(api):
    parent = api.account("Reseller")
    child = api.account("Customer", parent_id=parent)
    hook = api.hook(child)
    _disable_by_system(api.redis, hook["id"])

    own_only = api.call("PATCH", f"/v2/accounts/{parent}/webhooks", {"re-enable": True})
    subtree = api.call("PATCH", f"/v2/accounts/{parent}/descendants/webhooks", {"re-enable": True})

    assert own_only.json["data"]["re_enabled"] == []
    assert subtree.json["data"]["re_enabled"] == [hook["id"]]


@pytest.mark.parametrize("data", [{}, {"re-enable": False}, {"re-enable": "true"}, {"re-enable": True, "x": 1}])
def test_patch_on_the_account_without_re_enable_true_is_refused(api, data):
    answer = api.call("PATCH", f"/v2/accounts/{api.account()}/webhooks", data)

    assert field_error(answer)[0] in ("re-enable", "field")


def _log_attempt(redis, account_id, hook_id, delivery_id, result="http_error", time_ms=1000, **extra):
    from hookpool import attempts
    entry = {"time_ms": time_ms, "hook_id": hook_id, "account_id": account_id, "event_account_id": account_id,
             "event": "channel_create", "delivery_id": delivery_id, "result": result, "retries_left": 0,
             "event_payload": {"account_id": account_id, "hook_event": "channel_create"}, **extra}
    with redis.pipeline() as pipe:
        attempts.record(pipe, account_id, entry)
        pipe.execute()


def test_attempts_are_listed_newest_first_for_the_account_and_for_one_hook(api):
    account_id = api.account()
    first, second = api.hook(account_id), api.hook(account_id, name="other")
    _log_attempt(api.redis, account_id, first["id"], "a" * 32)
    _log_attempt(api.redis, account_id, second["id"], "b" * 32, result="success")

    everything = api.call("GET", f"/v2/accounts/{account_id}/webhooks/attempts").json["data"]
    one_hook = api.call("GET", f"/v2/accounts/{account_id}/webhooks/{first['id']}/attempts").json["data"]
    failed = api.call("GET", f"/v2/accounts/{account_id}/webhooks/attempts?failed=true").json["data"]

    assert [e["delivery_id"] for e in everything] == ["b" * 32, "a" * 32]
    assert [e["delivery_id"] for e in one_hook] == ["a" * 32]
    assert [e["delivery_id"] for e in failed] == ["a" * 32]
    assert "event_payload" not in everything[0]


@pytest.mark.parametrize("query, field", [("limit=0", "limit"), ("limit=x", "limit"), ("failed=maybe", "failed"),
                                          ("since_ms=-1", "since_ms")])
def test_bad_attempts_queries_answer_400(api, query, field):
    answer = api.call("GET", f"/v2/accounts/{api.account()}/webhooks/attempts?{query}")

    assert field_error(answer)[0] == field


def test_hook_types_list_every_event_type_with_its_modifiers(api):
    types = {t["id"]: t for t in api.call("GET", "/v2/webhooks").json["data"]}

    assert set(types) == {"channel_create", "channel_answer", "channel_bridge", "channel_destroy", "object",
                          "notifications", "parking", "all"}
    assert set(types["object"]["modifiers"]) == {"type", "action"}


def test_samples_are_served_from_examples_and_an_unknown_type_is_404(api):
    listed = api.call("GET", "/v2/webhooks/samples").json["data"]
    channel_create = api.call("GET", "/v2/webhooks/samples/channel_create")
    unknown = api.call("GET", "/v2/webhooks/samples/nothing")

    assert "channel_create" in listed
    assert channel_create.json["data"][0]["hook_event"] == "channel_create"
    assert unknown.status_code == 404


def test_samples_answer_404_cleanly_when_the_examples_are_not_installed(fake_redis, tmp_path):
    api = Api(fake_redis, samples_dir=tmp_path / "absent")

    assert api.call("GET", "/v2/webhooks/samples").json["data"] == []
    assert api.call("GET", "/v2/webhooks/samples/channel_create").status_code == 404


def test_the_openapi_document_is_served_without_a_key(api):
    answer = api.client.get("/v2/openapi.json")

    assert answer.status_code == 200
    assert "/v2/accounts/{account_id}/webhooks/{webhook_id}" in answer.json["paths"]


def test_an_unknown_path_and_a_wrong_method_answer_in_kazoos_error_shape(api):
    unknown = api.call("GET", "/v2/nothing")
    wrong_method = api.call("DELETE", "/v2/webhooks")

    assert (unknown.status_code, unknown.json["status"], unknown.json["error"]) == (404, "error", "404")
    assert (wrong_method.status_code, wrong_method.json["message"]) == (405, "invalid_method")


def test_redis_failing_answers_503_datastore_fault(api, monkeypatch):
    import redis

    def broken(*args, **kwargs):
        raise redis.ConnectionError("connection refused")

    account_id = api.account()
    monkeypatch.setattr(maintenance.hooks, "list_hooks", broken)

    answer = api.call("GET", f"/v2/accounts/{account_id}/webhooks")

    assert (answer.status_code, answer.json["message"]) == (503, "datastore_fault")
