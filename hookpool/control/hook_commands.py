"""`hookpool hooks ...`: create, list, show, update, enable, disable and delete hooks."""

import click

from .. import hooks
from ..errors import ValidationError
from ..events import INDEXED_EVENT_TYPES
from .cli import AliasedGroup, pass_app
from .output import echo_json, echo_table, format_ms, plural

EVENT_CHOICE = click.Choice(INDEXED_EVENT_TYPES, case_sensitive=False)
VERB_CHOICE = click.Choice(hooks.HTTP_VERBS, case_sensitive=False)
FORMAT_CHOICE = click.Choice(hooks.FORMATS, case_sensitive=False)
RETRIES_RANGE = click.IntRange(0, hooks.defaults.MAX_HOOK_RETRIES)


def parse_custom_data(pairs):
    """KEY=VALUE strings into a dict; a pair without '=' is an error naming it."""
    data = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValidationError("--custom-data", pair, "must be KEY=VALUE")
        data[key] = value
    return data


@click.group("hooks", cls=AliasedGroup)
def hooks_group():
    """Create, list, show, change, enable, disable and delete hooks.

    \b
    Example:
      hookpool hooks create $account --name calls --uri https://example.com/in --event channel_create
      hookpool hooks list $account
    """


@hooks_group.command("create")
@click.argument("account_id")
@click.option("--name", required=True, help="A name for people to recognise the hook by.")
@click.option("--uri", required=True, help="Absolute http or https URL to deliver to.")
@click.option("--event", "event_type", required=True, type=EVENT_CHOICE, help="Event type, or all.")
@click.option("--verb", "http_verb", type=VERB_CHOICE, default=hooks.defaults.HOOK_HTTP_VERB, show_default=True)
@click.option("--format", "data_format", type=FORMAT_CHOICE, default=hooks.defaults.HOOK_FORMAT, show_default=True,
              help="Body encoding for post and put.")
@click.option("--retries", type=RETRIES_RANGE, default=hooks.defaults.HOOK_RETRIES, show_default=True,
              help="Re-sends after a failed first attempt.")
@click.option("--include-subaccounts", is_flag=True, help="Also fire for events of every subaccount.")
@click.option("--exclude-internal-legs", is_flag=True, help="Skip events whose is_internal_leg is true.")
@click.option("--custom-data", multiple=True, metavar="KEY=VALUE",
              help="Merged into every payload; repeat for more. notifications hooks need type=, "
                   "object hooks type= and action=.")
@click.option("--disabled", is_flag=True, help="Create it disabled.")
@click.option("--secret", metavar="whsec_...", help="Sign deliveries with this Standard Webhooks secret.")
@click.option("--generate-secret", is_flag=True, help="Sign deliveries with a new secret, shown once on stderr.")
@click.option("--id", "hook_id", metavar="ID", help="Use this id (32 hex characters) instead of a new one.")
@pass_app
def create(app, account_id, name, uri, event_type, http_verb, data_format, retries, include_subaccounts,
           exclude_internal_legs, custom_data, disabled, secret, generate_secret, hook_id):
    """Create a hook for ACCOUNT_ID and print its id alone.

    \b
    Example:
      hookpool hooks create $account --name calls --uri https://example.com/calls \\
          --event channel_create --format json --retries 3
      hookpool hooks create $account --name voicemail --uri https://example.com/vm \\
          --event notifications --custom-data type=voicemail_new
    """
    if secret and generate_secret:
        raise click.UsageError("give --secret or --generate-secret, not both")
    fields = {
        "name": name, "uri": uri, "hook": event_type, "http_verb": http_verb, "format": data_format,
        "retries": retries, "include_subaccounts": include_subaccounts,
        "include_internal_legs": not exclude_internal_legs, "custom_data": parse_custom_data(custom_data),
        "enabled": not disabled,
    }
    secret = hooks.new_secret() if generate_secret else secret
    hook = hooks.create_hook(app.redis, account_id, fields, secret=secret, hook_id=hook_id)
    click.echo(hook.id)
    if generate_secret:
        click.echo(f"signing secret (shown only now): {secret}", err=True)


@hooks_group.command("list")
@click.argument("account_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_app
def list_(app, account_id, as_json):
    """List the hooks of ACCOUNT_ID, or of every account, enabled or not.

    \b
    Example:
      hookpool hooks list 91eb05e5c68d7ca05e7618b6821d2d16 --json
    """
    found = hooks.list_hooks(app.redis, account_id)
    if as_json:
        echo_json([h.to_dict() for h in found])
        return
    rows = [(h.id, h.account_id, h.name, h.hook, h.http_verb, h.format, h.retries, _state(h), h.uri) for h in found]
    echo_table(("HOOK ID", "ACCOUNT ID", "NAME", "EVENT", "VERB", "FORMAT", "RETRIES", "STATE", "URI"), rows)
    click.echo(f"found {plural(len(found), 'hook')}")


def _state(hook):
    if hook.enabled:
        return "enabled"
    return f"disabled by {hook.disabled_by or 'operator'}"


@hooks_group.command("show")
@click.argument("hook_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def show(app, hook_id, as_json):
    """Show every field of one hook (never its secret).

    \b
    Example:
      hookpool hooks show 5f0e1b2c3d4e5f60718293a4b5c6d7e8
    """
    echo_hook(hooks.get_hook(app.redis, hook_id), as_json)


def echo_hook(hook, as_json=False):
    shown = hook.to_dict()
    if as_json:
        echo_json(shown)
        return
    for key, value in shown.items():
        if key.endswith("_ms"):
            key, value = key[:-3], format_ms(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in sorted(value.items())) or "-"
        click.echo(f"{key}: {value if value != '' else '-'}")


@hooks_group.command("update")
@click.argument("hook_id")
@click.option("--name")
@click.option("--uri")
@click.option("--event", "event_type", type=EVENT_CHOICE)
@click.option("--verb", "http_verb", type=VERB_CHOICE)
@click.option("--format", "data_format", type=FORMAT_CHOICE)
@click.option("--retries", type=RETRIES_RANGE)
@click.option("--include-subaccounts/--no-include-subaccounts", default=None)
@click.option("--include-internal-legs/--exclude-internal-legs", default=None)
@click.option("--custom-data", multiple=True, metavar="KEY=VALUE", help="Replaces the whole custom_data.")
@click.option("--clear-custom-data", is_flag=True, help="Remove all custom_data.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def update(app, hook_id, name, uri, event_type, http_verb, data_format, retries, include_subaccounts,
           include_internal_legs, custom_data, clear_custom_data, as_json):
    """Change some fields of a hook and print the result.

    \b
    Example:
      hookpool hooks update 5f0e1b2c3d4e5f60718293a4b5c6d7e8 --retries 4 --format json
    """
    if clear_custom_data and custom_data:
        raise click.UsageError("--clear-custom-data and --custom-data contradict each other; give one of them")
    given = {
        "name": name, "uri": uri, "hook": event_type, "http_verb": http_verb, "format": data_format,
        "retries": retries, "include_subaccounts": include_subaccounts, "include_internal_legs": include_internal_legs,
        "custom_data": parse_custom_data(custom_data) if custom_data else ({} if clear_custom_data else None),
    }
    fields = {k: v for k, v in given.items() if v is not None}
    if not fields:
        raise click.UsageError("nothing to change; give at least one option")
    echo_hook(hooks.update_hook(app.redis, hook_id, fields), as_json)


@hooks_group.command("enable")
@click.argument("hook_id")
@pass_app
def enable(app, hook_id):
    """Enable a hook, whoever disabled it, and clear its failures.

    \b
    Example:
      hookpool hooks enable 5f0e1b2c3d4e5f60718293a4b5c6d7e8
    """
    hook = hooks.set_enabled(app.redis, hook_id, True)
    click.echo(f"enabled hook {hook.id}")


@hooks_group.command("disable")
@click.argument("hook_id")
@pass_app
def disable(app, hook_id):
    """Disable a hook as the operator (the enable_* maintenance commands leave it alone).

    \b
    Example:
      hookpool hooks disable 5f0e1b2c3d4e5f60718293a4b5c6d7e8
    """
    hook = hooks.set_enabled(app.redis, hook_id, False)
    click.echo(f"disabled hook {hook.id}")


@hooks_group.command("delete")
@click.argument("hook_id")
@pass_app
def delete(app, hook_id):
    """Delete a hook and its failures.

    \b
    Example:
      hookpool hooks delete 5f0e1b2c3d4e5f60718293a4b5c6d7e8
    """
    hook = hooks.delete_hook(app.redis, hook_id)
    click.echo(f"deleted hook {hook.id}")


COMMANDS = [hooks_group]
