"""The Kazoo maintenance commands, with Kazoo's tables (pipe-separated, same headers).

Each is reachable as Kazoo spells it (set_failure_expiry) and as click does
(set-failure-expiry). What they do lives in hookpool/maintenance.py, shared
with other front ends; this module only reads arguments and prints.
"""

import click

from .. import maintenance
from .cli import pass_app
from .output import echo_json, echo_table, plural

# Lets a negative number through as an argument, so it is refused by the setting's own
# rule ("must be between 1 and ...") instead of being mistaken for an unknown option.
NUMBER_ARGUMENTS = {"ignore_unknown_options": True}


@click.command("hooks-configured")
@click.argument("account_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_app
def hooks_configured(app, account_id, as_json):
    """List the enabled hooks of ACCOUNT_ID, or of every account.

    \b
    Example:
      hookpool hooks_configured
      hookpool hooks_configured 91eb05e5c68d7ca05e7618b6821d2d16
    """
    found = maintenance.configured_hooks(app.redis, account_id)
    if as_json:
        echo_json([h.to_dict() for h in found])
        return
    echo_table(("URI", "VERB", "EVENT", "RETRIES", "ACCOUNT ID"),
               [(h.uri, h.http_verb, h.hook, h.retries, h.account_id) for h in found])
    click.echo(f"found {plural(len(found), 'hook')}")


@click.command("failure-status")
@click.argument("account_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_app
def failure_status(app, account_id, as_json):
    """Count each hook's failed attempts inside its account's failure window.

    \b
    Example:
      hookpool failure_status
      hookpool failure_status 91eb05e5c68d7ca05e7618b6821d2d16
    """
    counts = maintenance.failure_counts(app.redis, account_id)
    if as_json:
        echo_json([{"account_id": c.account_id, "hook_id": c.hook_id, "count": c.count} for c in counts])
        return
    echo_table(("Account", "Hook", "Count"), [(c.account_id, c.hook_id, c.count) for c in counts])
    click.echo(f"found {plural(len(counts), 'hook')} with failures")


def account_and_value(values, value_name):
    """Split Kazoo's `[ACCOUNT_ID] VALUE` arguments: (account id or None, value)."""
    if len(values) == 1:
        return None, values[0]
    if len(values) == 2:
        return values[0], values[1]
    raise click.UsageError(f"expected {value_name} or ACCOUNT_ID {value_name}, got {len(values)} arguments")


def echo_setting_changed(label, unit, number, account_id):
    where = f"account {account_id}" if account_id else "the system (accounts without their own value)"
    click.echo(f"{label} set to {number}{unit} for {where}")


@click.command("set-failure-expiry", context_settings=NUMBER_ARGUMENTS)
@click.argument("values", nargs=-1, required=True, metavar="[ACCOUNT_ID] MS")
@pass_app
def set_failure_expiry(app, values):
    """Set the failure window in milliseconds: failed attempts older than it no longer count.

    With ACCOUNT_ID, for that account only (its own value wins over the system's);
    without, for the system. MS is a whole number from 1 to 604800000 (a week).

    \b
    Example:
      hookpool set_failure_expiry 120000
      hookpool set_failure_expiry 91eb05e5c68d7ca05e7618b6821d2d16 30000
    """
    account_id, value = account_and_value(values, "MS")
    number = maintenance.set_failure_expiry(app.redis, value, account_id)
    echo_setting_changed("failure expiry", " ms", number, account_id)


@click.command("set-disable-threshold", context_settings=NUMBER_ARGUMENTS)
@click.argument("values", nargs=-1, required=True, metavar="[ACCOUNT_ID] COUNT")
@pass_app
def set_disable_threshold(app, values):
    """Set how many failed attempts inside the window disable a hook.

    With ACCOUNT_ID, for that account only (its own value wins over the system's);
    without, for the system. COUNT is a whole number from 1 to 10000.

    \b
    Example:
      hookpool set_disable_threshold 10
      hookpool set_disable_threshold 91eb05e5c68d7ca05e7618b6821d2d16 3
    """
    account_id, value = account_and_value(values, "COUNT")
    number = maintenance.set_disable_threshold(app.redis, value, account_id)
    echo_setting_changed("disable threshold", "", number, account_id)


@click.command("settings")
@click.argument("account_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_app
def settings_command(app, account_id, as_json):
    """Show the failure window and disable threshold: default, system, account's own, effective.

    \b
    Example:
      hookpool settings
      hookpool settings 91eb05e5c68d7ca05e7618b6821d2d16
    """
    report = maintenance.settings_report(app.redis, account_id)
    if as_json:
        echo_json(report)
        return

    def shown(value):
        return "-" if value is None else value

    headers = ("Setting", "Default", "System") + (("Account",) if account_id else ()) + ("Effective",)
    rows = []
    for name, values in report.items():
        own = (shown(values["account"]),) if account_id else ()
        rows.append((name, values["default"], shown(values["system"])) + own + (values["effective"],))
    echo_table(headers, rows)
    scope = f"account {account_id}" if account_id else "accounts without their own values"
    click.echo(f"effective for {scope}")


def echo_reenabled(report, as_json):
    if as_json:
        echo_json({"accounts": report.account_ids, "re_enabled": report.re_enabled,
                   "left_disabled": report.left_disabled, "failures_cleared": report.failures_cleared})
        return
    if report.left_disabled:
        click.echo(f"left {plural(len(report.left_disabled), 'hook')} disabled because an operator disabled them"
                   f" (hookpool hooks enable HOOK_ID enables one): {', '.join(report.left_disabled)}")
    ids = f": {', '.join(report.re_enabled)}" if report.re_enabled else ""
    click.echo(f"re-enabled {plural(len(report.re_enabled), 'hook')}"
               f" ({failure_entries(report.failures_cleared)} cleared){ids}")


@click.command("enable-account-hooks")
@click.argument("account_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def enable_account_hooks(app, account_id, as_json):
    """Re-enable the account's hooks that the system disabled, clearing their old failures.

    Hooks an operator disabled stay disabled and are named.

    \b
    Example:
      hookpool enable_account_hooks 91eb05e5c68d7ca05e7618b6821d2d16
    """
    echo_reenabled(maintenance.enable_account_hooks(app.redis, account_id), as_json)


@click.command("enable-descendant-hooks")
@click.argument("account_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def enable_descendant_hooks(app, account_id, as_json):
    """As enable_account_hooks, for the account and every subaccount below it, at any depth.

    \b
    Example:
      hookpool enable_descendant_hooks 91eb05e5c68d7ca05e7618b6821d2d16
    """
    echo_reenabled(maintenance.enable_descendant_hooks(app.redis, account_id), as_json)


def echo_flushed(removed, as_json):
    if as_json:
        echo_json({"flushed": removed})
        return
    click.echo(f"flushed {failure_entries(removed)}")


def failure_entries(count):
    return f"{count} failure {'entry' if count == 1 else 'entries'}"


@click.command("flush-account-failures")
@click.argument("account_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def flush_account_failures(app, account_id, as_json):
    """Remove the failure entries of every hook of the account (its subaccounts' are kept).

    \b
    Example:
      hookpool flush_account_failures 91eb05e5c68d7ca05e7618b6821d2d16
    """
    echo_flushed(maintenance.flush_account_failures(app.redis, account_id), as_json)


@click.command("flush-hook-failures")
@click.argument("account_id")
@click.argument("hook_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def flush_hook_failures(app, account_id, hook_id, as_json):
    """Remove the failure entries of one hook of the account.

    \b
    Example:
      hookpool flush_hook_failures 91eb05e5c68d7ca05e7618b6821d2d16 5f0e1b2c3d4e5f60718293a4b5c6d7e8
    """
    echo_flushed(maintenance.flush_hook_failures(app.redis, account_id, hook_id), as_json)


COMMANDS = [
    hooks_configured, set_failure_expiry, set_disable_threshold, failure_status, enable_account_hooks,
    enable_descendant_hooks, flush_account_failures, flush_hook_failures, settings_command,
]
