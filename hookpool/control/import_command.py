"""`hookpool hooks import FILE`: bring hooks over from Kazoo, all or nothing."""

import click

from .. import importing
from ..errors import ValidationError
from .cli import pass_app
from .hook_commands import hooks_group
from .output import echo_json, plural


@hooks_group.command("import")
@click.argument("source", type=click.File("rb"))
@click.option("--account", "account_id", metavar="ID",
              help="Account of documents that name none (Kazoo's API lists one account's hooks without it).")
@click.option("--parent", "parent_id", metavar="ID",
              help="Create the accounts the file needs under this account (default: as top-level accounts).")
@click.option("--ignore-unknown-fields", is_flag=True, help="Skip fields that are not Kazoo webhook fields.")
@click.option("--dry-run", is_flag=True, help="Check everything and report; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def import_hooks(app, source, account_id, parent_id, ignore_unknown_fields, dry_run, as_json):
    """Import the Kazoo webhook documents in SOURCE (a file, or - for stdin), all or nothing.

    SOURCE holds what Kazoo's API answers for an account's webhooks
    ({"data": [...]}), a JSON array of documents, one document, or JSON lines.
    Each document gives name, uri, hook, and optionally http_verb, retries,
    format, enabled, include_subaccounts, include_internal_legs, custom_data,
    id, and pvt_account_id or account_id. Accounts that do not exist are
    created. If any document is refused, each refusal is printed with its
    reason and nothing is written. Hooks imported disabled count as disabled
    by an operator.

    \b
    Example:
      curl -s -H "X-Auth-Token: $TOKEN" $KAZOO/v2/accounts/$ACCOUNT/webhooks > hooks.json
      hookpool hooks import hooks.json --account $ACCOUNT --dry-run
      hookpool hooks import hooks.json --account $ACCOUNT
    """
    documents = importing.read_documents(decode(source))
    if not documents:
        raise ValidationError("source", source.name, "holds no documents")
    plan = importing.plan_import(app.redis, documents, account_id=account_id, parent_id=parent_id,
                                 ignore_unknown=ignore_unknown_fields)
    if plan.refused:
        for refusal in plan.refused:
            click.echo(f"refused {refusal}", err=True)
        raise ValidationError("source", source.name, f"has {plural(len(plan.refused), 'refused document')} "
                                                     f"of {plan.documents}; nothing was imported")
    if not dry_run:
        importing.apply_import(app.redis, plan, parent_id=parent_id)
    echo_result(plan, dry_run, as_json)


def decode(source):
    # utf-8-sig: a byte order mark at the start (Windows editors write one) is dropped, not refused.
    try:
        return source.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError("source", None, f"is not UTF-8 text (first bad byte at offset {exc.start})") from None


def echo_result(plan, dry_run, as_json):
    if as_json:
        echo_json({"dry_run": dry_run, "accounts_created": [a.id for a in plan.new_accounts],
                   "hooks_imported": [h.id for h in plan.hooks]})
        return
    verb = "would create" if dry_run else "created"
    if plan.new_accounts:
        click.echo(f"{verb} {plural(len(plan.new_accounts), 'account')}: "
                   f"{', '.join(a.id for a in plan.new_accounts)}")
    account_count = len({h.account_id for h in plan.hooks})
    click.echo(f"{'would import' if dry_run else 'imported'} {plural(len(plan.hooks), 'hook')} "
               f"into {plural(account_count, 'account')}")


# Registered on the hooks group above; nothing to add at the top level.
COMMANDS = []
