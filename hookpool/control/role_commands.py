"""The Procfile roles (worker, scheduler) and publishing events from a file."""

import json

import click

from ..errors import ValidationError
from ..events import EVENT_TYPES, check_input_size, load_json, parse_event_text
from ..publishing import publish
from ..scheduler.schedule import run_scheduler
from ..workers.worker import run_worker
from .cli import pass_app, setup_logging
from .output import plural

LOG_LEVELS = click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty instead of waiting for more.")
@click.option("--log-level", type=LOG_LEVELS, help="Default INFO, or HOOKPOOL_LOG_LEVEL.")
@pass_app
def worker(app, burst, log_level):
    """Run one worker process: fans events out and delivers them.

    Run as many as you like, on any machine that reaches the same Redis.

    \b
    Example:
      REDIS_URL=redis://queue.internal:6379/0 hookpool worker
    """
    level = setup_logging(log_level)
    run_worker(app.redis, burst=burst, logging_level=level)


@click.command("scheduler")
@click.option("--burst", is_flag=True, help="Enqueue what is due once, then stop.")
@click.option("--log-level", type=LOG_LEVELS, help="Default INFO, or HOOKPOOL_LOG_LEVEL.")
@pass_app
def scheduler(app, burst, log_level):
    """Run the scheduler: registers the prune-and-disable pass and enqueues it when due.

    Several may run (one per machine, say); a lock lets one act at a time.

    \b
    Example:
      hookpool scheduler
    """
    setup_logging(log_level)
    run_scheduler(app.redis, burst=burst)


@click.command("publish")
@click.argument("source", type=click.File("rb"))
@click.option("--event", "event_type", type=click.Choice(EVENT_TYPES, case_sensitive=False),
              help="Event type of payloads that do not name it in hook_event "
                   "(notifications, object and parking payloads).")
@click.option("--account", "account_id", metavar="ID", help="Publish into this account, replacing each account_id.")
@click.option("--ids", "show_ids", is_flag=True,
              help="Also print each event's id, one a line, in order. An event published alone is "
                   "found in rq's tools under its id; deliveries of an event are derived from it.")
@pass_app
def publish_command(app, source, event_type, account_id, show_ids):
    """Publish the events in SOURCE (a file, or - for stdin).

    SOURCE holds a JSON array of events, one JSON object, or JSON lines (one
    object per line). Every event is checked before any is published: a bad one
    stops the whole batch, naming its line.

    \b
    Example:
      hookpool publish --account $account examples/kazoo-samples/channel_create.json
      hookpool publish --account $account --event notifications examples/kazoo-samples/notifications.json
      echo '{"account_id": "...", "hook_event": "channel_answer"}' | hookpool publish -
    """
    events = read_events(source.read(), event_type, account_id)
    if not events:
        raise ValidationError("source", source.name, "holds no events")
    event_ids = publish(app.redis, events)
    click.echo(f"published {plural(len(events), 'event')}")
    if show_ids:
        click.echo("\n".join(event_ids))


def read_events(data, event_type=None, account_id=None):
    """Events from a JSON document (object or array) or from JSON lines."""
    check_input_size(len(data))
    # utf-8-sig: editors on Windows start JSON files with a byte order mark, which is not an error.
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError("input", None, f"is not UTF-8 text (first bad byte at offset {exc.start})") from None

    try:
        json.loads(text)
    except RecursionError:
        raise ValidationError("input", f"{len(data)} bytes", "nests too deeply to be an event") from None
    except json.JSONDecodeError:
        return _read_json_lines(text, event_type, account_id)
    except ValueError:
        load_json(text, "input")  # not a syntax error: the digit limit, reported as such
    return parse_event_text(text, event_type, account_id)


def _read_json_lines(text, event_type, account_id):
    events = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.extend(parse_event_text(line, event_type, account_id))
        except ValidationError as exc:
            raise ValidationError(f"line {number}: {exc.field}", exc.value, exc.rule) from None
    return events


COMMANDS = [worker, scheduler, publish_command]
