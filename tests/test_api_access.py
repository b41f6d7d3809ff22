"""Who reaches what: API keys, 401 without one, 404 across tenants, account keys and their subtree."""

import pytest

from api_support import Api
from hookpool import accounts, keys
from hookpool.api import credentials


@pytest.fixture
def api(fake_redis):
    return Api(fake_redis)


@pytest.fixture
def tenants(api):
    """Two unrelated roots; the first has a child with a hook."""
    reseller = api.account("Reseller")
    customer = api.account("Customer", parent_id=reseller)
    stranger = api.account("Stranger")
    return {"reseller": reseller, "customer": customer, "stranger": stranger,
            "customer_hook": api.hook(customer)["id"], "stranger_hook": api.hook(stranger)["id"]}


@pytest.mark.parametrize("path", ["/v2/webhooks", "/v2/settings", "/v2/accounts/" + "a" * 32 + "/webhooks"])
def test_a_request_without_a_key_answers_401(api, path):
    answer = api.call("GET", path, key="")

    assert (answer.status_code, answer.json["error"], answer.json["message"]) == (401, "401", "invalid_credentials")


def test_an_unknown_key_answers_401_and_a_bearer_token_works_like_x_auth_token(api):
    unknown = api.call("GET", "/v2/webhooks", key="hpk_nothing")
    bearer = api.client.get("/v2/webhooks", headers={"Authorization": f"Bearer {api.system_key}"})

    assert unknown.status_code == 401
    assert bearer.status_code == 200


def test_keys_are_stored_only_as_their_sha256(api):
    api_key, key_id = credentials.create_key(api.redis)

    digest = credentials.digest(api_key)
    stored = [k.decode() for k in api.redis.keys("hookpool:api-key*")]
    assert keys.api_key(digest) in stored and api.redis.sismember(keys.API_KEYS, digest)
    assert not any(api_key in k for k in stored)
    assert api.redis.hget(keys.api_key(digest), "scope") == b"system"
    assert digest.startswith(key_id)


def test_a_revoked_key_answers_401(api):
    api_key, key_id = credentials.create_key(api.redis)

    credentials.revoke_key(api.redis, key_id)

    assert api.call("GET", "/v2/webhooks", key=api_key).status_code == 401


def test_the_key_of_a_deleted_account_answers_401(api, tenants):
    stranger_key = api.key_for(tenants["stranger"])

    api.call("DELETE", f"/v2/accounts/{tenants['stranger']}")

    assert api.call("GET", "/v2/webhooks", key=stranger_key).status_code == 401


def test_the_key_of_a_deleted_account_does_not_reach_a_new_account_given_the_same_id(api, tenants):
    stranger_key = api.key_for(tenants["stranger"])
    created_ms = accounts.get_account(api.redis, tenants["stranger"]).created_ms
    api.call("DELETE", f"/v2/accounts/{tenants['stranger']}")

    accounts.create_account(api.redis, "New owner", account_id=tenants["stranger"], now_ms=created_ms + 1)

    assert api.call("GET", f"/v2/accounts/{tenants['stranger']}", key=stranger_key).status_code == 401
    assert api.call("GET", f"/v2/accounts/{tenants['stranger']}").status_code == 200


def test_an_account_key_reaches_its_own_account_and_its_descendants(api, tenants):
    reseller_key = api.key_for(tenants["reseller"])

    own = api.call("GET", f"/v2/accounts/{tenants['reseller']}/webhooks", key=reseller_key)
    child = api.call("GET", f"/v2/accounts/{tenants['customer']}/webhooks/{tenants['customer_hook']}",
                     key=reseller_key)

    assert own.status_code == 200
    assert child.status_code == 200 and child.json["data"]["id"] == tenants["customer_hook"]


@pytest.mark.parametrize("method, suffix", [
    ("GET", "/webhooks"), ("GET", "/webhooks/{stranger_hook}"), ("DELETE", "/webhooks/{stranger_hook}"),
    ("PATCH", "/webhooks/{stranger_hook}"), ("GET", "/webhooks/attempts"), ("GET", ""), ("DELETE", ""),
    ("GET", "/settings"), ("POST", "/events"),
])
def test_another_tenants_resources_answer_404_as_if_they_did_not_exist(api, tenants, method, suffix):
    reseller_key = api.key_for(tenants["reseller"])
    path = f"/v2/accounts/{tenants['stranger']}" + suffix.format(**tenants)

    foreign = api.call(method, path, {"enabled": False}, key=reseller_key)
    missing = api.call(method, path.replace(tenants["stranger"], "f" * 32), {"enabled": False}, key=reseller_key)

    assert foreign.status_code == 404 and missing.status_code == 404
    assert foreign.json["message"] == missing.json["message"] == "bad_identifier"
    assert api.call("GET", f"/v2/accounts/{tenants['stranger']}/webhooks/{tenants['stranger_hook']}").json[
        "data"]["enabled"] is True


def test_a_customer_key_does_not_reach_its_parent(api, tenants):
    customer_key = api.key_for(tenants["customer"])

    answer = api.call("GET", f"/v2/accounts/{tenants['reseller']}/webhooks", key=customer_key)

    assert answer.status_code == 404


def test_a_hook_addressed_under_another_account_of_the_same_key_is_404(api, tenants):
    reseller_key = api.key_for(tenants["reseller"])

    answer = api.call("GET", f"/v2/accounts/{tenants['reseller']}/webhooks/{tenants['customer_hook']}",
                      key=reseller_key)

    assert answer.status_code == 404


@pytest.mark.parametrize("account_id", ["not-an-id", "A" * 31, "g" * 32])
def test_a_malformed_account_id_in_the_path_answers_404(api, account_id):
    assert api.call("GET", f"/v2/accounts/{account_id}/webhooks").status_code == 404


def test_an_account_key_cannot_create_root_accounts_nor_change_system_settings(api, tenants):
    reseller_key = api.key_for(tenants["reseller"])

    root = api.call("PUT", "/v2/accounts", {"name": "Mine"}, key=reseller_key)
    system = api.call("PATCH", "/v2/settings", {"disable_threshold": 3}, key=reseller_key)

    assert (root.status_code, root.json["message"]) == (403, "forbidden")
    assert system.status_code == 403


def test_an_account_key_cannot_delete_its_own_account_but_can_delete_below_it(api, tenants):
    reseller_key = api.key_for(tenants["reseller"])

    own = api.call("DELETE", f"/v2/accounts/{tenants['reseller']}?recursive=true", key=reseller_key)
    child = api.call("DELETE", f"/v2/accounts/{tenants['customer']}", key=reseller_key)

    assert own.status_code == 403
    assert child.status_code == 200 and child.json["data"]["deleted"] == [tenants["customer"]]


@pytest.mark.parametrize("method", ["PATCH", "POST"])
def test_an_account_key_may_read_its_failure_window_but_not_change_it(api, tenants, method):
    customer_key = api.key_for(tenants["customer"])
    path = f"/v2/accounts/{tenants['customer']}/settings"

    changed = api.call(method, path, {"failure_expiry_ms": 1, "disable_threshold": 10000}, key=customer_key)
    read = api.call("GET", path, key=customer_key)

    assert changed.status_code == 403
    assert read.status_code == 200
    assert api.redis.hgetall(keys.account_settings(tenants["customer"])) == {}
