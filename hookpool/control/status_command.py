"""`hookpool status`: what is running and how full the queues are; a health check by its exit status."""

import time

import click

from .. import health
from .cli import pass_app
from .output import echo_json, echo_table, format_ms, plural


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@pass_app
def status(app, as_json):
    """Show which Redis was reached, queue depths, workers, scheduler, the disable pass and hooks.

    Exits with status 1, naming the problem on stderr, when no worker or no
    scheduler is alive or the disable pass has stalled, so it serves as a
    health check.

    \b
    Example:
      hookpool status
      hookpool status --json >/dev/null || echo "hookpool needs attention"
    """
    now_ms = int(time.time() * 1000)
    report = health.check(app.redis, app.redis_location(), now_ms)
    if as_json:
        echo_json(report.to_dict())
    else:
        echo_report(report, now_ms)

    for problem in report.problems:
        click.echo(f"Error: {problem}", err=True)
    if report.problems:
        click.get_current_context().exit(1)


def echo_report(report, now_ms):
    click.echo(f"Redis: {report.redis_location} (Redis {report.redis_version})")
    click.echo("")
    echo_table(("Queue", "Queued", "Running", "Retry waiting", "Failed"),
               [(q.name, q.queued, q.running, q.retry_waiting, q.failed) for q in report.queues])
    click.echo("")

    click.echo(f"Workers alive: {len(report.workers)}")
    if report.workers:
        echo_table(("Worker", "Host", "PID", "State"), [(w.name, w.hostname, w.pid, w.state) for w in report.workers])
    click.echo(f"Schedulers alive: {len(report.schedulers)}"
               + (f" ({', '.join(report.schedulers)})" if report.schedulers else ""))
    click.echo(f"Disable pass: {describe_disable_pass(report, now_ms)}")
    click.echo(f"Hooks: {report.hooks_enabled} enabled, "
               f"{report.hooks_disabled_by_system + report.hooks_disabled_by_operator} disabled "
               f"({report.hooks_disabled_by_system} by the system, {report.hooks_disabled_by_operator} by an operator),"
               f" in {plural(report.accounts, 'account')}")


def describe_disable_pass(report, now_ms):
    every = f"scheduled every {report.disable_pass_interval_s} s" if report.disable_pass_interval_s else "not scheduled"
    last = report.disable_pass_last
    if not last.get("time_ms"):
        return f"{every}; never ran"
    ago_s = max(0, (now_ms - last["time_ms"]) // 1000)
    return (f"{every}; last ran {format_ms(last['time_ms'])} ({ago_s} s ago): "
            f"{plural(last.get('hooks_checked', 0), 'hook')} with failures checked, "
            f"{last.get('hooks_disabled', 0)} disabled, in {last.get('duration_ms', 0)} ms")


COMMANDS = [status]
