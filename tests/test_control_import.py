"""`hooks import FILE`: Kazoo webhook documents, all or nothing, through click's runner on fakeredis."""

import json

import pytest

from hookpool import accounts, hooks, importing, keys

from control_dataset import CALLS, CUSTOMER, RESELLER, build, run

NEW_ACCOUNT = "5" * 32
ANOTHER_NEW_ACCOUNT = "6" * 32
IMPORTED_HOOK = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def redis(fake_redis):
    build(fake_redis)
    return fake_redis


def kazoo_document(**overrides):
    """A webhook document as Kazoo's database holds it, private fields included."""
    document = {
        "_id": IMPORTED_HOOK, "_rev": "4-1b2c", "id": IMPORTED_HOOK, "name": "crm calls",
        "uri": "https://93.184.215.14/crm?token=a%2Fb", "http_verb": "post", "hook": "CHANNEL_CREATE",
        "retries": 3, "enabled": True, "include_subaccounts": True, "include_internal_legs": False,
        "custom_data": {"source": "kazoo"}, "pvt_account_id": NEW_ACCOUNT, "pvt_type": "webhook",
        "pvt_created": 63800000000,
    }
    document.update(overrides)
    return {k: v for k, v in document.items() if v is not None}


def write(tmp_path, content, name="hooks.json"):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def snapshot(redis):
    return {key: redis.type(key) for key in redis.keys("*")}


def test_import_creates_the_accounts_and_hooks_of_a_kazoo_api_listing(redis, tmp_path):
    listing = {"data": [
        kazoo_document(),
        kazoo_document(_id=None, id=None, name="voicemail", hook="notifications", custom_data={"type": "voicemail_new"},
                       enabled=False, pvt_account_id=None, account_id=ANOTHER_NEW_ACCOUNT),
        kazoo_document(_id=None, id=None, name="parked", hook="parking", pvt_account_id=CUSTOMER),
    ], "status": "success", "revision": "abc"}
    result = run(redis, "hooks", "import", write(tmp_path, listing))

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"created 2 accounts: {NEW_ACCOUNT}, {ANOTHER_NEW_ACCOUNT}",
        "imported 3 hooks into 3 accounts",
    ]
    hook = hooks.get_hook(redis, IMPORTED_HOOK, account_id=NEW_ACCOUNT)
    assert (hook.name, hook.uri, hook.hook, hook.retries, hook.include_subaccounts, hook.include_internal_legs,
            hook.custom_data) == ("crm calls", "https://93.184.215.14/crm?token=a%2Fb", "channel_create", 3, True,
                                  False, {"source": "kazoo"})
    voicemail = hooks.list_hooks(redis, ANOTHER_NEW_ACCOUNT)[0]
    assert (voicemail.enabled, voicemail.disabled_by) == (False, "operator")
    assert [h.name for h in hooks.list_hooks(redis, CUSTOMER)] == ["answered", "bridged", "parked"]
    assert accounts.get_account(redis, NEW_ACCOUNT).name == f"Imported from Kazoo ({NEW_ACCOUNT})"
    assert redis.sismember(keys.own_event_index(NEW_ACCOUNT, "channel_create"), IMPORTED_HOOK)
    assert redis.sismember(keys.descendant_event_index(NEW_ACCOUNT, "channel_create"), IMPORTED_HOOK)


def test_every_refused_document_is_reported_with_its_reason_and_nothing_is_written(redis, tmp_path):
    documents = [
        kazoo_document(),
        kazoo_document(_id=None, id=None, name="bad uri", uri="ftp://93.184.215.14/x"),
        kazoo_document(_id=None, id=None, name="bad retries", retries=9),
        kazoo_document(_id=None, id=CALLS, name="taken id"),
        kazoo_document(_id=None, id=None, name="no account", pvt_account_id=None),
        kazoo_document(_id=None, id=None, name="extra", colour="red"),
        kazoo_document(name="same id again"),
        "not a document",
    ]
    before = snapshot(redis)
    path = write(tmp_path, documents)
    result = run(redis, "hooks", "import", path)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "refused document 2 (name 'bad uri'): uri: 'ftp://93.184.215.14/x' must be an absolute http or https URL",
        "refused document 3 (name 'bad retries'): retries: 9 must be between 0 and 4",
        f"refused document 4 (name 'taken id'): id: '{CALLS}' is already a hook",
        "refused document 5 (name 'no account'): account_id is missing: name it in pvt_account_id or "
        "account_id, or pass --account",
        "refused document 6 (name 'extra'): field: 'colour' is not a Kazoo webhook field "
        "(--ignore-unknown-fields skips such)",
        f"refused document 7 (name 'same id again'): id: '{IMPORTED_HOOK}' is also the id of document 1",
        "refused document 8 (no name): document: 'str' is not a JSON object",
        f"Error: source: '{path}' has 7 refused documents of 8; nothing was imported",
    ]
    assert snapshot(redis) == before


def test_account_option_places_documents_that_name_no_account(redis, tmp_path):
    documents = [kazoo_document(pvt_account_id=None)]
    result = run(redis, "hooks", "import", write(tmp_path, documents), "--account", RESELLER)
    assert result.stdout.splitlines() == ["imported 1 hook into 1 account"]
    assert hooks.get_hook(redis, IMPORTED_HOOK).account_id == RESELLER


def test_parent_option_creates_the_missing_accounts_below_it(redis, tmp_path):
    result = run(redis, "hooks", "import", write(tmp_path, [kazoo_document()]), "--parent", CUSTOMER)
    assert result.exit_code == 0, result.output
    assert accounts.get_account(redis, NEW_ACCOUNT).path == (RESELLER, CUSTOMER)
    assert NEW_ACCOUNT in accounts.descendant_ids(redis, RESELLER)


def test_an_account_named_twice_in_one_document_must_agree(redis, tmp_path):
    result = run(redis, "hooks", "import", write(tmp_path, [kazoo_document(account_id=RESELLER)]))
    assert f"account_id: '{RESELLER}' differs from pvt_account_id '{NEW_ACCOUNT}'" in result.stderr


def test_ignore_unknown_fields_skips_them(redis, tmp_path):
    path = write(tmp_path, [kazoo_document(colour="red")])
    result = run(redis, "hooks", "import", path, "--ignore-unknown-fields")
    assert result.exit_code == 0, result.output


def test_dry_run_checks_and_reports_but_writes_nothing(redis, tmp_path):
    before = snapshot(redis)
    result = run(redis, "hooks", "import", write(tmp_path, [kazoo_document()]), "--dry-run")
    assert result.stdout.splitlines() == [f"would create 1 account: {NEW_ACCOUNT}", "would import 1 hook into 1 account"]
    assert snapshot(redis) == before


def test_json_lines_and_a_single_document_are_read_too(redis, tmp_path):
    lines = "\n".join(json.dumps(kazoo_document(_id=None, id=None, name=f"hook {n}")) for n in range(3)) + "\n"
    assert run(redis, "hooks", "import", write(tmp_path, lines), "--json").exit_code == 0
    assert len(hooks.list_hooks(redis, NEW_ACCOUNT)) == 3

    single = kazoo_document(pvt_account_id=RESELLER)
    shown = json.loads(run(redis, "hooks", "import", write(tmp_path, single, "one.json"), "--json").stdout)
    assert shown == {"dry_run": False, "accounts_created": [], "hooks_imported": [IMPORTED_HOOK]}


@pytest.mark.parametrize("content, message", [
    ("", "Error: source: "),
    ("[]", "holds no documents"),
    ('{"name": "x"}\n{oops\n', "Error: line 2: '{oops' is not JSON"),
])
def test_an_unreadable_file_is_one_line(redis, tmp_path, content, message):
    result = run(redis, "hooks", "import", write(tmp_path, content))
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert message in result.stderr


def test_a_file_that_is_not_utf8_is_one_line(redis, tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(b'[{"name": "caf\xe9"}]')
    result = run(redis, "hooks", "import", path)
    assert result.stderr == "Error: source is not UTF-8 text (first bad byte at offset 14)\n"


def test_a_missing_file_is_one_line_usage_error(redis, tmp_path):
    result = run(redis, "hooks", "import", tmp_path / "nope.json")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert "No such file or directory" in result.stderr


def test_an_import_that_raced_with_a_new_hook_of_the_same_id_writes_nothing(redis):
    plan = importing.plan_import(redis, [kazoo_document()])
    accounts.create_account(redis, "Meanwhile", account_id=NEW_ACCOUNT)
    hooks.create_hook(redis, NEW_ACCOUNT, {"name": "meanwhile", "uri": "https://93.184.215.14/m", "hook": "all"},
                      hook_id=IMPORTED_HOOK)
    before = snapshot(redis)
    with pytest.raises(importing.ImportConflict):
        importing.apply_import(redis, plan)
    assert snapshot(redis) == before
    assert hooks.get_hook(redis, IMPORTED_HOOK).name == "meanwhile"


def test_hooks_import_help_has_an_example(redis):
    result = run(redis, "hooks", "import", "--help")
    assert "hookpool hooks import hooks.json --account $ACCOUNT" in result.stdout
