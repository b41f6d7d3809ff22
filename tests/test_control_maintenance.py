"""The eight Kazoo maintenance commands and `settings`, through click's runner on fakeredis."""

import json

import pytest

from hookpool import failures, hooks, keys, maintenance, settings
from hookpool.errors import NotFound, ValidationError

from control_dataset import (
    ANSWERED_SYSTEM, BRIDGED_OPERATOR, CALLS, CUSTOMER, ENDED_SYSTEM, OFFICE, OTHER, OTHER_SYSTEM, PARKING,
    RESELLER, UNKNOWN_ACCOUNT, build, run,
)


@pytest.fixture
def redis(fake_redis):
    build(fake_redis)
    return fake_redis


def lines(result):
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def failed_with(result, message, exit_code=1):
    """The command failed with exactly one line on stderr, holding message, and printed no traceback."""
    assert result.exit_code == exit_code, result.output
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert message in result.stderr
    assert "Traceback" not in result.output
    return result.stderr.strip()


def hook_state(redis, hook_id):
    hook = hooks.get_hook(redis, hook_id)
    return hook.enabled, hook.disabled_by, redis.zcard(keys.hook_failures(hook_id))


# --- hooks_configured ---------------------------------------------------------

def test_hooks_configured_lists_only_enabled_hooks_of_every_account_in_kazoos_table(redis):
    assert lines(run(redis, "hooks_configured")) == [
        "| URI                           | VERB | EVENT          | RETRIES | ACCOUNT ID                       |",
        "| https://93.184.215.14/calls   | post | channel_create | 3       | 11111111111111111111111111111111 |",
        "| https://93.184.215.14/parking | get  | parking        | 4       | 33333333333333333333333333333333 |",
        "found 2 hooks",
    ]


def test_hooks_configured_of_one_account_lists_that_accounts_enabled_hooks_only(redis):
    assert lines(run(redis, "hooks-configured", OFFICE)) == [
        "| URI                           | VERB | EVENT   | RETRIES | ACCOUNT ID                       |",
        "| https://93.184.215.14/parking | get  | parking | 4       | 33333333333333333333333333333333 |",
        "found 1 hook",
    ]


def test_hooks_configured_json_lists_the_same_hooks_with_every_field(redis):
    shown = json.loads(run(redis, "hooks_configured", "--json").stdout)
    assert [(h["id"], h["enabled"]) for h in shown] == [(CALLS, True), (PARKING, True)]
    assert "secret" not in shown[0]


# --- failure_status -------------------------------------------------------------

def test_failure_status_counts_only_failures_inside_each_accounts_window(redis):
    # The parking hook's failure 45 s ago is inside the system's 60 s but outside the office's 30 s.
    assert lines(run(redis, "failure_status")) == [
        "| Account                          | Hook                             | Count |",
        "| 22222222222222222222222222222222 | bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb | 2     |",
        "| 22222222222222222222222222222222 | cccccccccccccccccccccccccccccccc | 1     |",
        "| 33333333333333333333333333333333 | eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee | 2     |",
        "found 3 hooks with failures",
    ]


def test_failure_status_of_one_account_shows_that_accounts_hooks_only(redis):
    assert lines(run(redis, "failure-status", OFFICE)) == [
        "| Account                          | Hook                             | Count |",
        "| 33333333333333333333333333333333 | eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee | 2     |",
        "found 1 hook with failures",
    ]


def test_failure_status_json_gives_account_hook_and_count(redis):
    assert json.loads(run(redis, "failure_status", OFFICE, "--json").stdout) == [
        {"account_id": OFFICE, "hook_id": PARKING, "count": 2}]


# --- enable_account_hooks / enable_descendant_hooks -----------------------------

def test_enable_account_hooks_re_enables_the_system_disabled_hook_and_names_the_operator_disabled_one(redis):
    assert lines(run(redis, "enable_account_hooks", CUSTOMER)) == [
        "left 1 hook disabled because an operator disabled them (hookpool hooks enable HOOK_ID enables one): "
        + BRIDGED_OPERATOR,
        f"re-enabled 1 hook (2 failure entries cleared): {ANSWERED_SYSTEM}",
    ]
    assert hook_state(redis, ANSWERED_SYSTEM) == (True, "", 0)
    assert hook_state(redis, BRIDGED_OPERATOR) == (False, "operator", 1)
    assert ANSWERED_SYSTEM.encode() not in redis.smembers(keys.FAILING_HOOKS)


def test_enable_account_hooks_leaves_subaccounts_alone(redis):
    run(redis, "enable-account-hooks", RESELLER)
    assert hook_state(redis, ANSWERED_SYSTEM)[0] is False
    assert hook_state(redis, ENDED_SYSTEM)[0] is False


def test_enable_descendant_hooks_walks_every_depth_and_no_other_tree(redis):
    assert lines(run(redis, "enable_descendant_hooks", RESELLER)) == [
        "left 1 hook disabled because an operator disabled them (hookpool hooks enable HOOK_ID enables one): "
        + BRIDGED_OPERATOR,
        f"re-enabled 2 hooks (2 failure entries cleared): {ANSWERED_SYSTEM}, {ENDED_SYSTEM}",
    ]
    assert hook_state(redis, ENDED_SYSTEM) == (True, "", 0)
    assert hook_state(redis, BRIDGED_OPERATOR) == (False, "operator", 1)
    assert hook_state(redis, OTHER_SYSTEM)[0] is False
    assert hook_state(redis, PARKING) == (True, "", 3)


def test_enabling_twice_re_enables_nothing_the_second_time(redis):
    run(redis, "enable_descendant_hooks", RESELLER)
    assert lines(run(redis, "enable_descendant_hooks", RESELLER))[-1] == "re-enabled 0 hooks (0 failure entries cleared)"


def test_enable_json_reports_accounts_visited_and_both_lists(redis):
    report = json.loads(run(redis, "enable_descendant_hooks", CUSTOMER, "--json").stdout)
    assert report == {"accounts": [CUSTOMER, OFFICE], "re_enabled": [ANSWERED_SYSTEM, ENDED_SYSTEM],
                      "left_disabled": [BRIDGED_OPERATOR], "failures_cleared": 2}


def test_a_hook_the_operator_disables_after_the_system_did_stays_disabled(redis):
    hooks.set_enabled(redis, OTHER_SYSTEM, False)
    report = maintenance.enable_account_hooks(redis, OTHER)
    assert (report.re_enabled, report.left_disabled) == ([], [OTHER_SYSTEM])


def test_a_re_enabled_hook_is_not_disabled_again_by_the_next_pass(redis):
    from hookpool.scheduler.disable import disable_pass

    maintenance.enable_account_hooks(redis, CUSTOMER)
    disable_pass(redis)
    assert hook_state(redis, ANSWERED_SYSTEM)[0] is True


# --- flush_account_failures / flush_hook_failures -------------------------------

def test_flush_account_failures_removes_every_entry_of_the_accounts_own_hooks(redis):
    assert lines(run(redis, "flush_account_failures", OFFICE)) == ["flushed 3 failure entries"]
    assert redis.zcard(keys.hook_failures(PARKING)) == 0
    assert redis.zcard(keys.hook_failures(ANSWERED_SYSTEM)) == 2


def test_flush_account_failures_counts_nothing_when_there_is_nothing(redis):
    assert lines(run(redis, "flush-account-failures", RESELLER)) == ["flushed 0 failure entries"]


def test_flush_hook_failures_removes_one_hooks_entries(redis):
    assert lines(run(redis, "flush_hook_failures", CUSTOMER, BRIDGED_OPERATOR)) == ["flushed 1 failure entry"]
    assert failures.failing_hook_ids(redis) == [ANSWERED_SYSTEM, PARKING]
    assert json.loads(run(redis, "flush_hook_failures", CUSTOMER, ANSWERED_SYSTEM, "--json").stdout) == {"flushed": 2}


def test_flush_hook_failures_refuses_a_hook_of_another_account_naming_its_owner(redis):
    failed_with(run(redis, "flush_hook_failures", CUSTOMER, PARKING),
                f"hook: '{PARKING}' belongs to account {OFFICE}, not to {CUSTOMER}")
    assert redis.zcard(keys.hook_failures(PARKING)) == 3


# --- set_failure_expiry / set_disable_threshold / settings ----------------------

def test_set_failure_expiry_with_one_argument_sets_the_system_value(redis):
    assert lines(run(redis, "set_failure_expiry", "120000")) == [
        "failure expiry set to 120000 ms for the system (accounts without their own value)"]
    assert settings.system_values(redis) == {"failure_expiry_ms": 120000}


def test_set_failure_expiry_with_two_arguments_sets_the_accounts_own_value(redis):
    assert lines(run(redis, "set-failure-expiry", CUSTOMER, "5000")) == [
        f"failure expiry set to 5000 ms for account {CUSTOMER}"]
    assert settings.account_values(redis, CUSTOMER) == {"failure_expiry_ms": 5000}
    assert settings.shortest_expiry_ms(redis) == 5000


def test_set_disable_threshold_takes_one_or_two_arguments(redis):
    assert lines(run(redis, "set_disable_threshold", "10")) == [
        "disable threshold set to 10 for the system (accounts without their own value)"]
    assert lines(run(redis, "set_disable_threshold", OFFICE, "3")) == [f"disable threshold set to 3 for account {OFFICE}"]
    assert settings.effective_for(redis, OFFICE).disable_threshold == 3
    assert settings.effective_for(redis, CUSTOMER).disable_threshold == 10


@pytest.mark.parametrize("value, rule", [
    ("0", "must be between 1 and 604800000"),
    ("-5", "must be between 1 and 604800000"),
    ("604800001", "must be between 1 and 604800000"),
    ("1.5", "is not a whole number"),
    ("soon", "is not a whole number"),
])
def test_set_failure_expiry_refuses_a_bad_number_and_writes_nothing(redis, value, rule):
    before = redis.hgetall(keys.account_settings(CUSTOMER))
    message = failed_with(run(redis, "set_failure_expiry", CUSTOMER, value), rule)
    assert message == f"Error: failure_expiry_ms: {value!r} {rule}"
    assert redis.hgetall(keys.account_settings(CUSTOMER)) == before
    assert failed_with(run(redis, "set_failure_expiry", value), rule)
    assert settings.system_values(redis) == {}


def test_set_disable_threshold_refuses_above_its_upper_bound(redis):
    failed_with(run(redis, "set_disable_threshold", "10001"), "disable_threshold: '10001' must be between 1 and 10000")


def test_set_commands_refuse_an_unknown_account_and_write_nothing(redis):
    failed_with(run(redis, "set_failure_expiry", UNKNOWN_ACCOUNT, "5000"), f"no account with id '{UNKNOWN_ACCOUNT}'")
    failed_with(run(redis, "set_disable_threshold", UNKNOWN_ACCOUNT, "3"), f"no account with id '{UNKNOWN_ACCOUNT}'")
    assert not redis.exists(keys.account_settings(UNKNOWN_ACCOUNT))
    assert redis.zscore(keys.ACCOUNT_EXPIRIES, UNKNOWN_ACCOUNT) is None


def test_set_commands_refuse_three_arguments_on_one_line(redis):
    failed_with(run(redis, "set_failure_expiry", CUSTOMER, "5000", "6000"),
                "expected MS or ACCOUNT_ID MS, got 3 arguments", exit_code=2)


def test_settings_shows_default_system_and_effective_values(redis):
    run(redis, "set_disable_threshold", "8")
    assert lines(run(redis, "settings")) == [
        "| Setting           | Default | System | Effective |",
        "| failure_expiry_ms | 60000   | -      | 60000     |",
        "| disable_threshold | 6       | 8      | 8         |",
        "effective for accounts without their own values",
    ]


def test_settings_of_an_account_shows_its_own_value_winning(redis):
    run(redis, "set_disable_threshold", "8")
    assert lines(run(redis, "settings", OFFICE)) == [
        "| Setting           | Default | System | Account | Effective |",
        "| failure_expiry_ms | 60000   | -      | 30000   | 30000     |",
        "| disable_threshold | 6       | 8      | -       | 8         |",
        f"effective for account {OFFICE}",
    ]
    assert json.loads(run(redis, "settings", OFFICE, "--json").stdout)["failure_expiry_ms"] == {
        "default": 60000, "system": None, "account": 30000, "effective": 30000}


# --- errors ----------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ["hooks_configured"], ["failure_status"], ["enable_account_hooks"], ["enable_descendant_hooks"],
    ["flush_account_failures"], ["settings"],
])
def test_commands_taking_an_account_refuse_an_unknown_one_on_one_line(redis, command):
    failed_with(run(redis, *command, UNKNOWN_ACCOUNT), f"Error: no account with id '{UNKNOWN_ACCOUNT}'")


def test_a_malformed_id_is_named_on_one_line(redis):
    failed_with(run(redis, "enable_account_hooks", "not-an-id"), "account: 'not-an-id' is not 32 hex characters")
    failed_with(run(redis, "flush_hook_failures", CUSTOMER, "xyz"), "hook: 'xyz' is not 32 hex characters")


def test_a_missing_argument_is_one_line_naming_it_and_where_help_is(redis):
    message = failed_with(run(redis, "flush_hook_failures", CUSTOMER), "Missing argument 'HOOK_ID'", exit_code=2)
    assert "flush-hook-failures --help" in message


@pytest.mark.parametrize("name", [
    "hooks_configured", "set_failure_expiry", "set_disable_threshold", "failure_status", "enable_account_hooks",
    "enable_descendant_hooks", "flush_account_failures", "flush_hook_failures", "settings",
])
def test_every_command_answers_help_with_an_example_under_both_spellings(redis, name):
    for spelling in (name, name.replace("_", "-")):
        result = run(redis, spelling, "--help")
        assert result.exit_code == 0
        assert f"hookpool {name} " in result.stdout.split("Example:")[1]


# --- the logic, as other front ends call it -------------------------------------

def test_logic_functions_refuse_unknown_ids_and_bad_values_without_writing(redis):
    with pytest.raises(NotFound):
        maintenance.enable_descendant_hooks(redis, UNKNOWN_ACCOUNT)
    with pytest.raises(NotFound):
        maintenance.flush_hook_failures(redis, OFFICE, "0" * 32)
    with pytest.raises(ValidationError):
        maintenance.set_disable_threshold(redis, True, OFFICE)
    assert maintenance.set_failure_expiry(redis, 1, OFFICE) == 1
    assert maintenance.flush_account_failures(redis, CUSTOMER) == 3


def test_every_command_of_the_script_has_help_with_an_example():
    import click

    from hookpool.control.cli import cli

    def leaves(command, path):
        if isinstance(command, click.Group):
            return [leaf for name, sub in command.commands.items() for leaf in leaves(sub, path + [name])]
        return [(" ".join(path), command)]

    commands = leaves(cli, [])
    assert {"attempts", "status", "settings", "hooks import", "set-failure-expiry"} <= {path for path, _ in commands}
    assert [path for path, command in commands if "Example:" not in (command.help or "")] == []
