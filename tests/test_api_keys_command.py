"""`hookpool keys create | list | revoke`, through click's runner on fakeredis."""

import pytest
from click.testing import CliRunner

from hookpool import accounts
from hookpool.api import credentials
from hookpool.control.cli import App, cli


def run(redis, *args):
    return CliRunner().invoke(cli, list(args), obj=App(None, client=redis))


def test_a_system_key_is_printed_once_on_stdout_and_authenticates_as_the_system(fake_redis):
    result = run(fake_redis, "keys", "create", "--system")

    api_key = result.stdout.strip()
    assert result.exit_code == 0 and api_key.startswith("hpk_")
    assert credentials.authenticate(fake_redis, api_key).is_system
    assert api_key not in run(fake_redis, "keys", "list").output


def test_an_account_key_authenticates_as_its_account(fake_redis):
    account = accounts.create_account(fake_redis, "Customer")

    api_key = run(fake_redis, "keys", "create", "--account", account.id).stdout.strip()

    assert credentials.authenticate(fake_redis, api_key).scope == account.id


@pytest.mark.parametrize("args", [[], ["--system", "--account", "a" * 32]])
def test_keys_create_needs_exactly_one_of_account_and_system(fake_redis, args):
    result = run(fake_redis, "keys", "create", *args)

    assert result.exit_code == 2 and "--account ID or --system" in result.output


def test_a_key_for_an_unknown_account_is_refused_in_one_line(fake_redis):
    result = run(fake_redis, "keys", "create", "--account", "b" * 32)

    assert result.exit_code == 1 and result.output.strip() == f"Error: no account with id {'b' * 32!r}"


def test_a_listed_key_id_revokes_the_key(fake_redis):
    api_key = run(fake_redis, "keys", "create", "--system").stdout.strip()
    [listed] = credentials.list_keys(fake_redis)

    result = run(fake_redis, "keys", "revoke", listed["id"])

    assert result.exit_code == 0 and listed["id"] in result.output
    assert credentials.authenticate(fake_redis, api_key) is None
