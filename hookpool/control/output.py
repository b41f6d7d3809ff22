"""Printing for the control script: Kazoo-shaped pipe tables, JSON, and times."""

import json
from datetime import datetime, timezone

import click


def table(headers, rows):
    """Lines of a pipe-separated table with aligned columns, header first."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]

    def line(values):
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"

    return [line(headers)] + [line(row) for row in cells]


def echo_table(headers, rows):
    for text in table(headers, rows):
        click.echo(text)


def echo_json(value):
    click.echo(json.dumps(value, indent=2, sort_keys=True))


def format_ms(epoch_ms):
    """An epoch-milliseconds time as UTC ISO 8601, to the millisecond."""
    if not epoch_ms:
        return "-"
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def plural(count, noun):
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
