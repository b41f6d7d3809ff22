"""Text that is not UTF-8 (bytes on the command line, lone surrogates) is refused, naming the field."""

import subprocess
import sys

import pytest

from hookpool import accounts, hooks
from hookpool.errors import ValidationError

PUBLIC_URI = "http://93.184.216.34/in"


def test_an_account_name_with_a_lone_surrogate_is_refused_and_nothing_written(fake_redis):
    with pytest.raises(ValidationError, match="name: b'a\\\\xff' is not valid UTF-8"):
        accounts.create_account(fake_redis, "a\udcff")

    assert fake_redis.keys("hookpool:*") == []


@pytest.mark.parametrize("fields, field", [
    ({"name": "\ud800"}, "name"),
    ({"custom_data": {"k": "\udcfe"}}, "custom_data.k"),
    ({"custom_data": {"\udcfe": "v"}}, "custom_data"),
])
def test_hook_text_fields_with_lone_surrogates_are_refused(fake_redis, fields, field):
    account = accounts.create_account(fake_redis, "text")
    base = {"name": "n", "uri": PUBLIC_URI, "hook": "all"}

    with pytest.raises(ValidationError) as refused:
        hooks.create_hook(fake_redis, account.id, {**base, **fields})

    assert refused.value.field == field
    assert hooks.list_hooks(fake_redis, account.id) == []


def test_a_non_utf8_byte_typed_on_the_command_line_is_one_line_not_a_traceback(redis_server):
    command = [sys.executable, "-m", "hookpool", "--redis-url", redis_server.url,
               "accounts", "create", b"caf\xe9"]
    result = subprocess.run(command, capture_output=True, timeout=60)

    lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
    assert result.returncode == 1
    assert len(lines) == 1 and "not valid UTF-8" in lines[0] and "Traceback" not in lines[0]
    assert redis_server.client().keys("hookpool:*") == []


@pytest.mark.parametrize("name", ["a\nb", "\x01ctrl", "red \x1b[31m", "tab\there", "evil\u202egnp.exe", "line\u2028sep"])
def test_names_with_control_characters_are_refused_for_accounts_and_hooks(fake_redis, name):
    with pytest.raises(ValidationError, match="control character"):
        accounts.create_account(fake_redis, name)
    account = accounts.create_account(fake_redis, "plain")

    with pytest.raises(ValidationError, match="control character") as refused:
        hooks.create_hook(fake_redis, account.id, {"name": name, "uri": PUBLIC_URI, "hook": "all"})

    assert refused.value.field == "name"
    assert hooks.list_hooks(fake_redis, account.id) == []


def test_printable_unicode_names_are_kept(fake_redis):
    account = accounts.create_account(fake_redis, "Café Zürich 東京 ☎")

    assert accounts.get_account(fake_redis, account.id).name == "Café Zürich 東京 ☎"


def test_custom_data_values_may_hold_newlines_but_keys_may_not(fake_redis):
    account = accounts.create_account(fake_redis, "data")
    hook = hooks.create_hook(fake_redis, account.id, {"name": "n", "uri": PUBLIC_URI, "hook": "all",
                                                      "custom_data": {"note": "two\nlines"}})
    assert hook.custom_data == {"note": "two\nlines"}

    with pytest.raises(ValidationError, match="control character"):
        hooks.create_hook(fake_redis, account.id, {"name": "m", "uri": PUBLIC_URI, "hook": "all",
                                                   "custom_data": {"bad\nkey": "v"}})
