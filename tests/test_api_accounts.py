"""Accounts and the failure window settings, through the API."""

import pytest

from api_support import Api, field_error
from hookpool import accounts, settings


@pytest.fixture
def api(fake_redis):
    return Api(fake_redis)


def test_a_root_account_and_a_subaccount_are_created_and_shown(api):
    root = api.call("PUT", "/v2/accounts", {"name": "Reseller"})
    child = api.call("PUT", f"/v2/accounts/{root.json['data']['id']}", {"name": "Customer"})
    shown = api.call("GET", f"/v2/accounts/{root.json['data']['id']}")

    assert (root.status_code, child.status_code) == (201, 201)
    assert child.json["data"]["parent_id"] == root.json["data"]["id"]
    assert shown.json["data"]["children"] == [child.json["data"]["id"]]


def test_an_account_can_be_created_with_its_own_id_once(api):
    first = api.call("PUT", "/v2/accounts", {"name": "Kazoo", "id": "c" * 32})
    second = api.call("PUT", "/v2/accounts", {"name": "Kazoo", "id": "c" * 32})

    assert first.json["data"]["id"] == "c" * 32
    assert field_error(second) == ("id", "unique")


@pytest.mark.parametrize("data, field", [({}, "name"), ({"name": "  "}, "name"), ({"name": "x", "id": "12"}, "id"),
                                         ({"name": "x", "parent": "y"}, "field")])
def test_bad_account_fields_answer_400(api, data, field):
    assert field_error(api.call("PUT", "/v2/accounts", data))[0] == field


def test_an_account_with_subaccounts_is_deleted_only_recursively(api):
    parent = api.account("Reseller")
    child = api.account("Customer", parent_id=parent)

    refused = api.call("DELETE", f"/v2/accounts/{parent}")
    deleted = api.call("DELETE", f"/v2/accounts/{parent}?recursive=true")

    assert field_error(refused)[0] == "account"
    assert deleted.json["data"]["deleted"] == [parent, child]
    assert not accounts.exists(api.redis, child)


def test_account_settings_show_default_system_account_and_effective_values(api):
    account_id = api.account()
    settings.set_system(api.redis, settings.DISABLE_THRESHOLD, 4)

    answer = api.call("GET", f"/v2/accounts/{account_id}/settings").json["data"]

    assert answer["disable_threshold"] == {"default": 6, "system": 4, "account": None, "effective": 4}
    assert answer["failure_expiry_ms"]["effective"] == 60000


def test_patch_sets_the_values_given_and_null_falls_back_to_the_system(api):
    account_id = api.account()
    api.call("PATCH", f"/v2/accounts/{account_id}/settings", {"failure_expiry_ms": 30000, "disable_threshold": 2})

    answer = api.call("PATCH", f"/v2/accounts/{account_id}/settings", {"disable_threshold": None}).json["data"]

    assert answer["failure_expiry_ms"]["account"] == 30000
    assert answer["disable_threshold"]["account"] is None and answer["disable_threshold"]["effective"] == 6


def test_post_replaces_the_account_values_so_one_left_out_falls_back(api):
    account_id = api.account()
    api.call("PATCH", f"/v2/accounts/{account_id}/settings", {"failure_expiry_ms": 30000, "disable_threshold": 2})

    answer = api.call("POST", f"/v2/accounts/{account_id}/settings", {"disable_threshold": 3}).json["data"]

    assert answer["failure_expiry_ms"]["account"] is None
    assert answer["disable_threshold"]["account"] == 3


@pytest.mark.parametrize("data, field", [({"disable_threshold": 0}, "disable_threshold"),
                                         ({"failure_expiry_ms": "60000"}, "failure_expiry_ms"),
                                         ({"failure_expiry_ms": True}, "failure_expiry_ms"),
                                         ({"threshold": 3}, "setting")])
def test_bad_settings_answer_400_and_nothing_is_written(api, data, field):
    account_id = api.account()

    answer = api.call("PATCH", f"/v2/accounts/{account_id}/settings", {"failure_expiry_ms": 5000, **data})

    assert field_error(answer)[0] == field
    assert settings.account_values(api.redis, account_id) == {}


def test_the_system_settings_are_read_and_set_with_a_system_key(api):
    answer = api.call("PATCH", "/v2/settings", {"failure_expiry_ms": 120000, "log_successful_attempts": True})

    assert answer.json["data"]["failure_expiry_ms"]["system"] == 120000
    assert answer.json["data"]["log_successful_attempts"] is True
    assert settings.log_successful_attempts(api.redis) is True


def test_system_settings_cannot_be_set_to_null(api):
    assert field_error(api.call("PATCH", "/v2/settings", {"disable_threshold": None}))[0] == "disable_threshold"
