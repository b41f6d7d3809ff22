"""The account tree: creation, ancestors, descendants at every depth, deletion."""

import pytest

from hookpool import accounts, failures, hooks, keys, settings
from hookpool.errors import NotFound, ValidationError

ROOT_ID = "a" * 32


def make_tree(redis):
    """root -> child -> grandchild, plus the child's sibling."""
    root = accounts.create_account(redis, "root", account_id=ROOT_ID)
    child = accounts.create_account(redis, "child", parent_id=root.id)
    grandchild = accounts.create_account(redis, "grandchild", parent_id=child.id)
    sibling = accounts.create_account(redis, "sibling", parent_id=root.id)
    return root, child, grandchild, sibling


def add_hook(redis, account_id, name="hook"):
    return hooks.create_hook(redis, account_id, {"name": name, "uri": "https://93.184.215.14/h", "hook": "all"})


def test_a_created_account_can_be_read_back_with_its_name_and_parent(fake_redis):
    root = accounts.create_account(fake_redis, "  Acme  ", now_ms=1_700_000_000_000)
    child = accounts.create_account(fake_redis, "Acme East", parent_id=root.id)

    assert accounts.get_account(fake_redis, root.id) == root
    assert root.name == "Acme"
    assert root.parent_id is None and root.path == ()
    assert root.created_ms == 1_700_000_000_000
    assert accounts.get_account(fake_redis, child.id).parent_id == root.id


def test_account_ids_are_32_lowercase_hex_characters(fake_redis):
    generated = accounts.create_account(fake_redis, "generated")
    given = accounts.create_account(fake_redis, "given", account_id="ABCDEF" + "0" * 26)

    assert len(generated.id) == 32 and int(generated.id, 16) >= 0
    assert given.id == "abcdef" + "0" * 26


@pytest.mark.parametrize("bad_id", ["xyz", "a" * 31, "a" * 33, "g" * 32, "account0000000000000000000000003"])
def test_an_account_id_that_is_not_32_hex_characters_is_refused(fake_redis, bad_id):
    with pytest.raises(ValidationError) as refused:
        accounts.create_account(fake_redis, "bad", account_id=bad_id)

    assert refused.value.field == "id"
    assert refused.value.value == bad_id
    assert fake_redis.keys("hookpool:*") == []


def test_creating_an_account_twice_with_the_same_id_is_refused(fake_redis):
    accounts.create_account(fake_redis, "first", account_id=ROOT_ID)

    with pytest.raises(ValidationError) as refused:
        accounts.create_account(fake_redis, "second", account_id=ROOT_ID)

    assert refused.value.field == "id"
    assert accounts.get_account(fake_redis, ROOT_ID).name == "first"


@pytest.mark.parametrize("bad_name", ["", "   ", None, "x" * 129])
def test_an_account_needs_a_name_of_reasonable_length(fake_redis, bad_name):
    with pytest.raises(ValidationError) as refused:
        accounts.create_account(fake_redis, bad_name)

    assert refused.value.field == "name"
    assert fake_redis.keys("hookpool:*") == []


def test_an_account_under_an_unknown_parent_is_refused_and_nothing_is_written(fake_redis):
    with pytest.raises(NotFound):
        accounts.create_account(fake_redis, "orphan", parent_id="b" * 32)

    assert fake_redis.keys("hookpool:*") == []


def test_an_account_knows_its_ancestors_root_first(fake_redis):
    root, child, grandchild, sibling = make_tree(fake_redis)

    assert accounts.get_account(fake_redis, grandchild.id).path == (root.id, child.id)
    assert accounts.get_account(fake_redis, sibling.id).path == (root.id,)
    assert accounts.get_account(fake_redis, grandchild.id).to_dict()["ancestors"] == [root.id, child.id]


def test_descendants_are_found_at_every_depth(fake_redis):
    root, child, grandchild, sibling = make_tree(fake_redis)
    great = accounts.create_account(fake_redis, "great-grandchild", parent_id=grandchild.id)

    assert accounts.descendant_ids(fake_redis, root.id) == {child.id, grandchild.id, sibling.id, great.id}
    assert accounts.descendant_ids(fake_redis, child.id) == {grandchild.id, great.id}
    assert accounts.descendant_ids(fake_redis, sibling.id) == set()
    assert accounts.child_ids(fake_redis, root.id) == {child.id, sibling.id}


def test_listing_puts_every_parent_before_its_children(fake_redis):
    make_tree(fake_redis)

    listed = accounts.list_accounts(fake_redis)

    seen = set()
    for account in listed:
        assert set(account.path) <= seen
        seen.add(account.id)
    assert len(listed) == 4


def test_the_tree_is_stored_under_the_documented_keys(fake_redis):
    root, child, grandchild, _ = make_tree(fake_redis)

    assert fake_redis.sismember("hookpool:accounts", grandchild.id)
    assert fake_redis.hget(f"hookpool:account:{grandchild.id}", "path").decode() == f"{root.id},{child.id}"
    assert fake_redis.sismember(f"hookpool:account:{root.id}:children", child.id)
    assert fake_redis.sismember(f"hookpool:account:{root.id}:descendants", grandchild.id)


def test_an_account_with_subaccounts_is_not_deleted_without_recursive(fake_redis):
    root, child, grandchild, sibling = make_tree(fake_redis)

    with pytest.raises(ValidationError) as refused:
        accounts.delete_account(fake_redis, child.id)

    assert "subaccounts" in str(refused.value)
    assert accounts.exists(fake_redis, child.id) and accounts.exists(fake_redis, grandchild.id)


def test_deleting_a_leaf_removes_it_from_its_ancestors(fake_redis):
    root, child, grandchild, sibling = make_tree(fake_redis)

    assert accounts.delete_account(fake_redis, grandchild.id) == [grandchild.id]

    assert accounts.descendant_ids(fake_redis, root.id) == {child.id, sibling.id}
    assert accounts.child_ids(fake_redis, child.id) == set()
    with pytest.raises(NotFound):
        accounts.get_account(fake_redis, grandchild.id)


def test_deleting_recursively_removes_the_subtree_with_its_hooks_failures_and_settings(fake_redis):
    root, child, grandchild, sibling = make_tree(fake_redis)
    doomed_hooks = [add_hook(fake_redis, child.id), add_hook(fake_redis, grandchild.id)]
    kept_hook = add_hook(fake_redis, sibling.id)
    for hook in doomed_hooks + [kept_hook]:
        with fake_redis.pipeline() as pipe:
            failures.record_failure(pipe, hook.id, "d" * 32, 1, now_ms=1000)
            pipe.execute()
    settings.set_account(fake_redis, grandchild.id, settings.FAILURE_EXPIRY_MS, 5000)

    deleted = accounts.delete_account(fake_redis, child.id, recursive=True)

    assert sorted(deleted) == sorted([child.id, grandchild.id])
    for account_id in deleted:
        assert fake_redis.keys(f"hookpool:account:{account_id}*") == []
        assert not fake_redis.sismember(keys.ACCOUNTS, account_id)
    for hook in doomed_hooks:
        assert fake_redis.keys(f"hookpool:hook:{hook.id}*") == []
    assert failures.failing_hook_ids(fake_redis) == [kept_hook.id]
    assert fake_redis.zscore(keys.ACCOUNT_EXPIRIES, grandchild.id) is None
    assert accounts.descendant_ids(fake_redis, root.id) == {sibling.id}
    assert hooks.get_hook(fake_redis, kept_hook.id).account_id == sibling.id


def test_deleting_the_whole_tree_leaves_no_account_or_hook_keys(fake_redis):
    root, *rest = make_tree(fake_redis)
    for account in [root, *rest]:
        add_hook(fake_redis, account.id)

    accounts.delete_account(fake_redis, root.id, recursive=True)

    leftovers = [k.decode() for k in fake_redis.keys("hookpool:*")]
    assert leftovers == []
