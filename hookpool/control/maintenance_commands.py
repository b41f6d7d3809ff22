"""The Kazoo maintenance commands, with Kazoo's tables (pipe-separated, same headers)."""

import click

from .. import maintenance
from .cli import pass_app
from .output import echo_json, echo_table, plural


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


COMMANDS = [hooks_configured, failure_status]
