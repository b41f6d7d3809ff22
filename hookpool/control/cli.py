"""The `hookpool` command: one click group, shared options, and error handling.

Every command is reachable spelled with underscores, as Kazoo's maintenance
commands are (hooks_configured), and with dashes, as click spells them
(hooks-configured). Errors hookpool raises on purpose, and Redis being
unreachable, become one line on stderr and exit status 1, never a traceback.
"""

import logging
import os

import click
import redis

from .. import __version__
from ..config import load_config
from ..connection import connect
from ..errors import ConfigurationError, HookpoolError


class CommandFailed(click.ClickException):
    """A HookpoolError or Redis failure, shown as one line on stderr."""


class OneLineUsageError(click.ClickException):
    """A mistyped command line, shown as one line on stderr like every other error (exit status 2)."""

    exit_code = 2


class AliasedGroup(click.Group):
    """A group that finds `hooks_configured` as well as `hooks-configured`."""

    def get_command(self, ctx, cmd_name):
        return super().get_command(ctx, cmd_name) or super().get_command(ctx, cmd_name.replace("_", "-"))

    def resolve_command(self, ctx, args):
        # Report the canonical (dashed) name, so usage lines stay consistent.
        _, command, rest = super().resolve_command(ctx, args)
        return (command.name if command else None), command, rest


class RootGroup(AliasedGroup):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except HookpoolError as exc:
            raise CommandFailed(str(exc)) from None
        except redis.RedisError as exc:
            raise CommandFailed(f"Redis failed: {exc}") from None
        except UnicodeError as exc:
            # Bytes that are not UTF-8 on the command line reach us as lone surrogates.
            raise CommandFailed(f"an argument is not valid UTF-8 text ({exc.reason})") from None
        except click.UsageError as exc:
            # The usage text click would print is one --help away; the error itself must stand out.
            hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx else ""
            raise OneLineUsageError(exc.format_message() + hint) from None


class App:
    """What every command shares: the Redis URL given, and a connection made on first use."""

    def __init__(self, redis_url, client=None):
        self.redis_url = redis_url
        self.config = load_config()
        # A client given here (tests pass fakeredis through CliRunner's obj=) is used as is.
        self._redis = client

    @property
    def redis(self):
        if self._redis is None:
            self._redis = connect(self.redis_url, data_dir=self.config.data_dir)
        return self._redis

    def redis_location(self):
        kwargs = self.redis.connection_pool.connection_kwargs
        if "path" in kwargs:
            return f"unix://{kwargs['path']}"
        return f"redis://{kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('db', 0)}"


pass_app = click.make_pass_decorator(App)


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--redis-url", envvar="REDIS_URL", metavar="URL",
              help="Redis to use [env REDIS_URL]. Default: localhost:6379 if it answers, "
                   "else an embedded server under HOOKPOOL_DATA_DIR (.hookpool).")
@click.version_option(__version__, prog_name="hookpool")
@click.pass_context
def cli(ctx, redis_url):
    """hookpool: deliver webhooks for a tree of accounts.

    \b
    Roles (see the Procfile):   worker, scheduler, api
    Accounts and hooks:         accounts ..., hooks ...
    Events:                     publish FILE
    Kazoo maintenance:          hooks_configured, failure_status, ...
    Trying it out:              listen, demo

    \b
    Example:
      hookpool demo
      account=$(hookpool accounts create "Office")
      hookpool hooks create $account --name calls --uri https://example.com/in --event channel_create
      hookpool --redis-url redis://queue.internal:6379/0 worker
    """
    if isinstance(ctx.obj, App):
        return
    try:
        ctx.obj = App(redis_url)
    except HookpoolError as exc:
        raise CommandFailed(str(exc)) from None


LOG_LEVEL_NAMES = ("DEBUG", "INFO", "WARNING", "ERROR")


def setup_logging(level_name):
    """Log at level_name (from --log-level), else HOOKPOOL_LOG_LEVEL, else INFO; return the level used."""
    if not level_name:
        level_name = os.environ.get("HOOKPOOL_LOG_LEVEL") or "INFO"
        # --log-level is checked by click; the variable has no such guard, and logging would raise a traceback.
        if level_name.upper() not in LOG_LEVEL_NAMES:
            raise ConfigurationError(f"HOOKPOOL_LOG_LEVEL={level_name!r} is not a log level; "
                                     f"use one of {', '.join(LOG_LEVEL_NAMES)}")
    level_name = level_name.upper()
    logging.basicConfig(
        level=level_name,
        format="%(asctime)s %(levelname)s [pid %(process)d] %(name)s: %(message)s",
    )
    return level_name


def _register_commands():
    from . import account_commands, hook_commands, listen, maintenance_commands, role_commands, demo
    from . import api_command, attempts_commands, import_command, status_command

    for module in (account_commands, hook_commands, import_command, maintenance_commands, attempts_commands,
                   status_command, role_commands, listen, demo, api_command):
        for command in module.COMMANDS:
            cli.add_command(command)


_register_commands()


def main():
    cli.main(prog_name="hookpool")
