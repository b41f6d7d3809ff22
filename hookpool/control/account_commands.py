"""`hookpool accounts ...`: create, list, show and delete accounts."""

import click

from .. import accounts
from .cli import AliasedGroup, pass_app
from .output import echo_json, echo_table, format_ms, plural


@click.group("accounts", cls=AliasedGroup)
def accounts_group():
    """Create, list, show and delete accounts (a tree: each may have a parent).

    \b
    Example:
      root=$(hookpool accounts create "Reseller")
      hookpool accounts list
      hookpool accounts show $root
    """


@accounts_group.command("create")
@click.argument("name")
@click.option("--parent", "parent_id", metavar="ID", help="Make it a subaccount of this account.")
@click.option("--id", "account_id", metavar="ID", help="Use this id (32 hex characters) instead of a new one.")
@pass_app
def create(app, name, parent_id, account_id):
    """Create an account and print its id alone.

    \b
    Example:
      root=$(hookpool accounts create "Reseller")
      hookpool accounts create "Customer" --parent $root
    """
    account = accounts.create_account(app.redis, name, parent_id=parent_id, account_id=account_id)
    click.echo(account.id)


@accounts_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_app
def list_(app, as_json):
    """List every account, each parent before its children.

    \b
    Example:
      hookpool accounts list
    """
    found = accounts.list_accounts(app.redis)
    if as_json:
        echo_json([a.to_dict() for a in found])
        return
    rows = [("  " * len(a.path) + a.name, a.id, a.parent_id or "-", format_ms(a.created_ms)) for a in found]
    echo_table(("NAME", "ACCOUNT ID", "PARENT ID", "CREATED"), rows)
    click.echo(f"found {plural(len(found), 'account')}")


@accounts_group.command("show")
@click.argument("account_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def show(app, account_id, as_json):
    """Show one account with its ancestors and number of subaccounts.

    \b
    Example:
      hookpool accounts show 91eb05e5c68d7ca05e7618b6821d2d16
    """
    account = accounts.get_account(app.redis, account_id)
    shown = {**account.to_dict(), "descendants": len(accounts.descendant_ids(app.redis, account.id))}
    if as_json:
        echo_json(shown)
        return
    for key in ("id", "name", "parent_id", "ancestors", "descendants", "created_ms"):
        value = shown[key]
        if key == "ancestors":
            value = ", ".join(value) or "-"
        elif key == "created_ms":
            key, value = "created", format_ms(value)
        click.echo(f"{key}: {value if value is not None else '-'}")


@accounts_group.command("delete")
@click.argument("account_id")
@click.option("--recursive", is_flag=True, help="Also delete every subaccount.")
@pass_app
def delete(app, account_id, recursive):
    """Delete an account with its hooks, their failures, its settings and attempts log.

    \b
    Example:
      hookpool accounts delete 91eb05e5c68d7ca05e7618b6821d2d16 --recursive
    """
    deleted = accounts.delete_account(app.redis, account_id, recursive=recursive)
    click.echo(f"deleted {plural(len(deleted), 'account')}: {', '.join(deleted)}")


COMMANDS = [accounts_group]
