"""`hookpool attempts ACCOUNT_ID`: the attempts log of one account, newest first."""

import click

from .. import accounts, attempts, hooks
from .cli import pass_app
from .output import echo_json, echo_table, format_ms, plural
from .times import SinceTime

DEFAULT_LIMIT = 50


def result_text(entry):
    """The status code for an answer, the failure kind otherwise; both when a 3xx was refused."""
    kind, status = entry.get("result"), entry.get("status")
    if kind in ("success", "status") and status:
        return str(status)
    return f"{status} {kind}" if status else str(kind)


def try_text(entry):
    """`try/tries`: this attempt's number out of all the delivery may make."""
    number = entry.get("try", 0)
    return f"{number}/{number + entry.get('retries_left', 0)}"


@click.command("attempts")
@click.argument("account_id")
@click.option("--hook", "hook_id", metavar="HOOK_ID", help="Only attempts of this hook of the account.")
@click.option("--since", "since_ms", type=SinceTime(),
              help="Only attempts at or after TIME: ISO 8601 (2026-12-03T14:00:00Z, UTC unless an offset "
                   "is given) or a time ago (30s, 15m, 2h, 3d, 1w).")
@click.option("--failed", is_flag=True, help="Only failed attempts.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=DEFAULT_LIMIT, show_default=True,
              help="Show at most this many (the newest).")
@click.option("--json", "as_json", is_flag=True, help="Print the full entries as JSON, headers and bodies included.")
@pass_app
def attempts_command(app, account_id, hook_id, since_ms, failed, limit, as_json):
    """Show the attempts log of ACCOUNT_ID, newest first.

    Failed attempts are always logged; successful ones only while the system
    setting log_successful_attempts is on.

    \b
    Example:
      hookpool attempts 91eb05e5c68d7ca05e7618b6821d2d16 --failed --since 15m
      hookpool attempts 91eb05e5c68d7ca05e7618b6821d2d16 --hook 5f0e1b2c3d4e5f60718293a4b5c6d7e8 --json
    """
    account = accounts.get_account(app.redis, account_id)
    if hook_id:
        hook_id = hooks.get_hook(app.redis, hook_id, account_id=account.id).id
    found = attempts.read(app.redis, account.id, hook_id=hook_id, since_ms=since_ms, failed_only=failed,
                          limit=limit)
    if as_json:
        echo_json(found)
        return

    echo_table(("TIME", "HOOK", "EVENT", "TRY", "RESULT", "MS"),
               [(format_ms(e.get("time_ms")), e.get("hook_id"), e.get("event"), try_text(e), result_text(e),
                 e.get("elapsed_ms")) for e in found])
    more = f" (the newest {limit}; --limit shows more)" if len(found) == limit else ""
    click.echo(f"found {plural(len(found), 'attempt')}{more}")


COMMANDS = [attempts_command]
