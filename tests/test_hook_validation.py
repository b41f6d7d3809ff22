"""Hook fields: defaults, limits, and refusals that name the field and write nothing."""

import pytest

from hookpool import accounts, hooks, keys
from hookpool.errors import NotFound, ValidationError

ACCOUNT_ID = "1" * 32
# Hosts are public address literals: hook creation checks where a name resolves,
# and these tests should not wait on DNS.
VALID = {"name": "calls", "uri": "https://93.184.215.14/hook", "hook": "channel_create"}


@pytest.fixture
def account(fake_redis):
    return accounts.create_account(fake_redis, "tenant", account_id=ACCOUNT_ID)


def create(redis, **fields):
    return hooks.create_hook(redis, ACCOUNT_ID, {**VALID, **fields})


def stored_hook_keys(redis):
    return sorted(k.decode() for k in redis.keys("hookpool:hook:*"))


def test_a_hook_with_only_the_required_fields_gets_kazoos_defaults(fake_redis, account):
    hook = create(fake_redis)

    assert (hook.http_verb, hook.retries, hook.format) == ("post", 2, "form-data")
    assert hook.enabled is True
    assert hook.include_subaccounts is False
    assert hook.include_internal_legs is True
    assert hook.custom_data == {}
    assert hook.disabled_by == "" and hook.disabled_reason == ""
    assert hooks.get_hook(fake_redis, hook.id) == hook


def test_a_hook_is_stored_as_a_hash_and_indexed_under_its_account_and_event(fake_redis, account):
    hook = create(fake_redis, include_subaccounts=True)

    assert fake_redis.hget(f"hookpool:hook:{hook.id}", "uri") == VALID["uri"].encode()
    assert fake_redis.sismember(f"hookpool:account:{ACCOUNT_ID}:hooks", hook.id)
    assert fake_redis.sismember(f"hookpool:account:{ACCOUNT_ID}:on:channel_create", hook.id)
    assert fake_redis.sismember(f"hookpool:account:{ACCOUNT_ID}:below:channel_create", hook.id)


def test_a_hook_without_subaccounts_is_not_in_the_descendant_index(fake_redis, account):
    hook = create(fake_redis)

    assert not fake_redis.exists(keys.descendant_event_index(ACCOUNT_ID, "channel_create"))
    assert fake_redis.smembers(keys.own_event_index(ACCOUNT_ID, "channel_create")) == {hook.id.encode()}


@pytest.mark.parametrize("retries", [0, 1, 2, 3, 4])
def test_retries_from_zero_to_four_are_accepted(fake_redis, account, retries):
    assert create(fake_redis, retries=retries).retries == retries


@pytest.mark.parametrize("verb", ["get", "post", "put", "GET", "Put"])
def test_every_http_verb_is_accepted_in_any_case_and_stored_lower_case(fake_redis, account, verb):
    assert create(fake_redis, http_verb=verb).http_verb == verb.lower()


@pytest.mark.parametrize("event", ["channel_create", "channel_answer", "channel_bridge", "channel_destroy",
                                   "parking", "all", "CHANNEL_CREATE", "All"])
def test_every_event_type_and_all_is_accepted_in_any_case(fake_redis, account, event):
    assert create(fake_redis, hook=event).hook == event.lower()


@pytest.mark.parametrize("uri", [
    "http://93.184.215.14",
    "https://93.184.215.14:8443/path/to?x=1&y=2",
    "https://93.184.215.14/hook?token=a%2Fb&x=1&empty=&flag",
    "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:8080/ipv6",
    "https://user:pass@93.184.215.14/with-credentials",
])
def test_an_absolute_http_uri_is_stored_exactly_as_given(fake_redis, account, uri):
    hook = create(fake_redis, uri=uri)

    assert hooks.get_hook(fake_redis, hook.id).uri == uri


def test_custom_data_of_strings_is_kept(fake_redis, account):
    custom = {"tenant": "acme", "empty": "", "long": "x" * 1024}
    custom.update({f"key{i}": "v" for i in range(64 - len(custom))})

    assert create(fake_redis, custom_data=custom).custom_data == custom


def test_a_notifications_hook_names_its_notification_in_custom_data(fake_redis, account):
    hook = create(fake_redis, hook="notifications", custom_data={"type": "voicemail_new"})

    assert hook.custom_data == {"type": "voicemail_new"}


def test_an_object_hook_names_document_type_and_action(fake_redis, account):
    hook = create(fake_redis, hook="object", custom_data={"type": "user", "action": "doc_edited"})

    assert hook.hook == "object"


BAD_VALUES = [
    ("name", ""),
    ("name", "   "),
    ("name", None),
    ("name", 42),
    ("name", "n" * 257),
    ("uri", ""),
    ("uri", None),
    ("uri", "example.com/hook"),
    ("uri", "/relative/path"),
    ("uri", "ftp://example.com/file"),
    ("uri", "javascript:alert(1)"),
    ("uri", "http://"),
    ("uri", "http://exa mple.com/"),
    ("uri", "http://example.com/\n"),
    ("uri", "http://exämple.com/"),
    ("uri", "http://example.com:99999/"),
    ("uri", "http://example.com/#fragment"),
    ("uri", "http://example.com/" + "a" * 2048),
    ("uri", ["http://example.com"]),
    ("http_verb", "delete"),
    ("http_verb", "patch"),
    ("http_verb", ""),
    ("http_verb", None),
    ("hook", "channel_created"),
    ("hook", ""),
    ("hook", None),
    ("hook", "ALL_EVENTS"),
    ("retries", -1),
    ("retries", 5),
    ("retries", 2.5),
    ("retries", "2"),
    ("retries", True),
    ("retries", None),
    ("format", "xml"),
    ("format", "JSONP"),
    ("format", None),
    ("enabled", "yes"),
    ("enabled", 1),
    ("enabled", None),
    ("include_subaccounts", "true"),
    ("include_subaccounts", 0),
    ("include_internal_legs", "false"),
    ("include_internal_legs", None),
    ("custom_data", "key=value"),
    ("custom_data", ["a"]),
    ("custom_data", None),
    ("custom_data", {"": "empty key"}),
    ("custom_data", {f"k{i}": "v" for i in range(65)}),
    ("custom_data.count", {"count": 3}),
    ("custom_data.nested", {"nested": {"a": "b"}}),
    ("custom_data.long", {"long": "x" * 1025}),
]


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_a_bad_field_value_is_refused_naming_the_field_and_nothing_is_written(fake_redis, account, field, value):
    top_field = field.split(".")[0]  # custom_data.count is reported by key, but given as custom_data

    with pytest.raises(ValidationError) as refused:
        create(fake_redis, **{top_field: value})

    assert refused.value.field == field
    assert field in str(refused.value)
    assert stored_hook_keys(fake_redis) == []
    assert not fake_redis.exists(keys.account_hooks(ACCOUNT_ID))


@pytest.mark.parametrize("missing", ["name", "uri", "hook"])
def test_each_required_field_is_named_when_missing(fake_redis, account, missing):
    fields = {k: v for k, v in VALID.items() if k != missing}

    with pytest.raises(ValidationError) as refused:
        hooks.create_hook(fake_redis, ACCOUNT_ID, fields)

    assert refused.value.field == missing
    assert "required" in str(refused.value)
    assert stored_hook_keys(fake_redis) == []


def test_an_unknown_field_is_refused_rather_than_ignored(fake_redis, account):
    with pytest.raises(ValidationError) as refused:
        create(fake_redis, retry=3)

    assert refused.value.field == "field"
    assert refused.value.value == "retry"
    assert stored_hook_keys(fake_redis) == []


@pytest.mark.parametrize(("custom_data", "field"), [
    ({}, "custom_data.type"),
    ({"type": ""}, "custom_data.type"),
])
def test_a_notifications_hook_without_a_notification_name_is_refused(fake_redis, account, custom_data, field):
    with pytest.raises(ValidationError) as refused:
        create(fake_redis, hook="notifications", custom_data=custom_data)

    assert refused.value.field == field
    assert stored_hook_keys(fake_redis) == []


@pytest.mark.parametrize(("custom_data", "field"), [
    ({}, "custom_data.type"),
    ({"action": "doc_created"}, "custom_data.type"),
    ({"type": "user"}, "custom_data.action"),
    ({"type": "user", "action": "doc_renamed"}, "custom_data.action"),
])
def test_an_object_hook_without_type_and_action_is_refused(fake_redis, account, custom_data, field):
    with pytest.raises(ValidationError) as refused:
        create(fake_redis, hook="object", custom_data=custom_data)

    assert refused.value.field == field
    assert stored_hook_keys(fake_redis) == []


def test_a_hook_for_an_unknown_account_is_refused(fake_redis, account):
    with pytest.raises(NotFound):
        hooks.create_hook(fake_redis, "2" * 32, VALID)

    assert stored_hook_keys(fake_redis) == []


def test_a_hook_id_can_be_given_but_not_reused(fake_redis, account):
    first = hooks.create_hook(fake_redis, ACCOUNT_ID, VALID, hook_id="3" * 32)

    with pytest.raises(ValidationError) as refused:
        hooks.create_hook(fake_redis, ACCOUNT_ID, {**VALID, "name": "other"}, hook_id="3" * 32)

    assert refused.value.field == "id"
    assert hooks.get_hook(fake_redis, first.id).name == "calls"


@pytest.mark.parametrize("secret", ["not-a-secret", "whsec_!!!notbase64", "whsec_" + "AAAA" * 4])
def test_a_malformed_signing_secret_is_refused_without_echoing_it(fake_redis, account, secret):
    with pytest.raises(ValidationError) as refused:
        hooks.create_hook(fake_redis, ACCOUNT_ID, VALID, secret=secret)

    assert refused.value.field == "secret"
    assert secret not in str(refused.value)
    assert stored_hook_keys(fake_redis) == []


def test_a_signing_secret_is_stored_but_never_shown(fake_redis, account):
    secret = hooks.new_secret()

    hook = hooks.create_hook(fake_redis, ACCOUNT_ID, VALID, secret=secret)

    assert hooks.get_hook(fake_redis, hook.id).secret == secret
    assert hook.to_dict()["signed"] is True
    assert secret not in repr(hook.to_dict())


def test_a_bad_update_leaves_the_stored_hook_as_it_was(fake_redis, account):
    hook = create(fake_redis)
    before = fake_redis.hgetall(keys.hook(hook.id))

    with pytest.raises(ValidationError) as refused:
        hooks.update_hook(fake_redis, hook.id, {"name": "renamed", "retries": 9})

    assert refused.value.field == "retries"
    assert fake_redis.hgetall(keys.hook(hook.id)) == before


def test_an_update_that_breaks_the_modifier_rule_is_refused(fake_redis, account):
    hook = create(fake_redis)

    with pytest.raises(ValidationError) as refused:
        hooks.update_hook(fake_redis, hook.id, {"hook": "object"})

    assert refused.value.field == "custom_data.type"
    assert hooks.get_hook(fake_redis, hook.id).hook == "channel_create"


def test_changing_the_event_moves_the_hook_between_index_sets(fake_redis, account):
    hook = create(fake_redis, include_subaccounts=True)

    hooks.update_hook(fake_redis, hook.id, {"hook": "channel_destroy", "include_subaccounts": False})

    assert not fake_redis.sismember(keys.own_event_index(ACCOUNT_ID, "channel_create"), hook.id)
    assert not fake_redis.sismember(keys.descendant_event_index(ACCOUNT_ID, "channel_create"), hook.id)
    assert fake_redis.sismember(keys.own_event_index(ACCOUNT_ID, "channel_destroy"), hook.id)
    assert not fake_redis.sismember(keys.descendant_event_index(ACCOUNT_ID, "channel_destroy"), hook.id)


def test_disabling_by_the_operator_is_recorded_and_enabling_clears_it(fake_redis, account):
    hook = create(fake_redis)

    disabled = hooks.set_enabled(fake_redis, hook.id, False)
    enabled = hooks.set_enabled(fake_redis, hook.id, True)

    assert (disabled.enabled, disabled.disabled_by) == (False, "operator")
    assert (enabled.enabled, enabled.disabled_by, enabled.disabled_reason) == (True, "", "")


def test_a_hook_created_disabled_counts_as_disabled_by_the_operator(fake_redis, account):
    assert create(fake_redis, enabled=False).disabled_by == "operator"


def test_deleting_a_hook_removes_it_from_every_index(fake_redis, account):
    hook = create(fake_redis, include_subaccounts=True)

    hooks.delete_hook(fake_redis, hook.id)

    assert fake_redis.keys("hookpool:account:*:on:*") == []
    assert fake_redis.keys("hookpool:account:*:below:*") == []
    assert not fake_redis.exists(keys.account_hooks(ACCOUNT_ID))
    with pytest.raises(NotFound):
        hooks.get_hook(fake_redis, hook.id)


def test_a_hook_of_another_account_is_reported_as_not_found(fake_redis, account):
    hook = create(fake_redis)

    with pytest.raises(NotFound):
        hooks.get_hook(fake_redis, hook.id, account_id="4" * 32)
