"""`hookpool api` serves the HTTP API with waitress; `hookpool keys ...` issues and revokes its keys."""

import logging
import signal
import sys

import click

from .cli import AliasedGroup, pass_app, setup_logging
from .output import echo_json, echo_table, format_ms, plural

log = logging.getLogger(__name__)

LOG_LEVELS = click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False)


@click.command("api")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 for every interface.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, envvar="PORT",
              help="TCP port [env PORT, as Procfile runners set it].")
@click.option("--threads", type=click.IntRange(1, 256), default=8, show_default=True,
              help="Requests served at once.")
@click.option("--log-level", type=LOG_LEVELS, help="Default INFO, or HOOKPOOL_LOG_LEVEL.")
@pass_app
def api(app, host, port, threads, log_level):
    """Serve the HTTP API (Kazoo's webhooks endpoints, events, replay).

    Every request needs a key from `hookpool keys create`, in the
    X-Auth-Token header; the OpenAPI document is at /v2/openapi.json.

    \b
    Example:
      hookpool api --port 8000
      curl -H "X-Auth-Token: $KEY" http://127.0.0.1:8000/v2/webhooks
    """
    import waitress

    from ..api import create_app

    setup_logging(log_level)
    application = create_app(app.redis)
    try:
        server = waitress.create_server(application, host=host, port=port, threads=threads, ident="hookpool")
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise click.ClickException(f"cannot listen on {host}:{port}: {reason}") from None

    # SIGTERM (what Procfile runners send) ends the serving loop the way Ctrl-C does, so waitress closes cleanly.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    log.info("serving the API on http://%s:%d with %d threads", host, port, threads)
    server.run()
    log.info("API stopped")


@click.group("keys", cls=AliasedGroup)
def keys_group():
    """Issue, list and revoke API keys (stored hashed; a key is shown only when issued).

    \b
    Example:
      hookpool keys create --account 91eb05e5c68d7ca05e7618b6821d2d16
      hookpool keys list
    """


@keys_group.command("create")
@click.option("--account", "account_id", metavar="ID", help="A key for this account and every account below it.")
@click.option("--system", is_flag=True, help="A key that reaches every account, and the system settings.")
@pass_app
def create_key(app, account_id, system):
    """Issue an API key and print it, once: only its hash is kept.

    \b
    Example:
      hookpool keys create --system
      hookpool keys create --account 91eb05e5c68d7ca05e7618b6821d2d16
    """
    from ..api import credentials

    if bool(account_id) == system:
        raise click.UsageError("give --account ID or --system (one of them)")
    api_key, key_id = credentials.create_key(app.redis, account_id=account_id)
    click.echo(f"key {key_id} issued for {account_id or 'the system'}; it is shown only now", err=True)
    click.echo(api_key)


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_app
def list_keys(app, as_json):
    """List the keys issued (by id, a prefix of their hash), never the keys themselves.

    \b
    Example:
      hookpool keys list
    """
    from ..api import credentials

    found = credentials.list_keys(app.redis)
    if as_json:
        echo_json(found)
        return
    echo_table(("KEY ID", "SCOPE", "CREATED"), [(k["id"], k["scope"], format_ms(k["created_ms"])) for k in found])
    click.echo(f"found {plural(len(found), 'key')}")


@keys_group.command("revoke")
@click.argument("key_id")
@pass_app
def revoke_key(app, key_id):
    """Revoke a key by the id `hookpool keys list` shows; requests with it get 401 from then on.

    \b
    Example:
      hookpool keys revoke 3f1c9a0b2d4e
    """
    from ..api import credentials

    click.echo(f"revoked key {credentials.revoke_key(app.redis, key_id)}")


COMMANDS = [api, keys_group]
