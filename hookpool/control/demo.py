"""`hookpool demo`: the whole pipeline on one machine, on the Kazoo sample events.

It finds or starts Redis, starts two receivers (one answering 200, one always
500), a worker pool and a scheduler as real processes, builds a small account
tree with hooks of every event type, verb and format, publishes every sample
event, and shows what arrived, the failure counts, and the failing hook
disabled by the system. Everything it started is stopped at the end, and its
accounts are deleted unless --keep is given.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from .. import accounts, hooks, keys, maintenance, settings
from ..config import load_config
from ..connection import checked_client, locate, stop_embedded
from ..errors import HookpoolError
from ..events import EVENT_TYPES, hook_wants, parse_event_text
from ..publishing import publish
from .cli import pass_app
from .hook_commands import echo_hook
from .listen import Receiver
from .output import echo_table, plural

DEMO_EXPIRY_MS = 20_000
# Held on the publishing account while the failures pile up, so they can be shown
# before the disable pass acts; removed afterwards to let the system threshold apply.
DEMO_HOLD_THRESHOLD = 10_000
WAIT_S = 120


def default_samples_dir():
    for candidate in (Path(__file__).resolve().parents[2] / "examples" / "kazoo-samples",
                      Path.cwd() / "examples" / "kazoo-samples"):
        if candidate.is_dir():
            return candidate
    return None


@click.command("demo")
@click.option("--samples", "samples_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of sample event files (NAME.json per event type). Default: examples/kazoo-samples.")
@click.option("--workers", "worker_count", type=click.IntRange(1, 16), default=2, show_default=True)
@click.option("--keep", is_flag=True, help="Keep the demo accounts and hooks afterwards.")
@pass_app
def demo(app, samples_dir, worker_count, keep):
    """Run the whole pipeline on the Kazoo sample events and show what happened.

    \b
    Example:
      hookpool demo
      hookpool --redis-url redis://localhost:6379/5 demo --workers 4
    """
    samples_dir = samples_dir or default_samples_dir()
    if samples_dir is None:
        raise click.UsageError("cannot find examples/kazoo-samples; pass --samples DIR")
    samples = load_samples(samples_dir)
    allow_loopback()

    url, started_redis = locate(app.redis_url, app.config.data_dir)
    # Checked before anything starts, so an unreachable Redis is the same one line as for every command.
    redis = checked_client(url)
    click.echo(f"Redis: {url}{' (embedded, started for the demo)' if started_redis else ''}")

    ok_receiver = Receiver(statuses=[200]).start()
    failing_receiver = Receiver(statuses=[500]).start()
    log_path = Path(tempfile.mkdtemp(prefix="hookpool-demo-")) / "roles.log"
    roles = start_roles(url, worker_count, log_path)
    tree = None
    try:
        tree, demo_hooks = build_tree(redis, ok_receiver.url, failing_receiver.url)
        run(redis, tree, demo_hooks, samples, ok_receiver, failing_receiver)
    finally:
        stop_roles(roles)
        ok_receiver.stop()
        failing_receiver.stop()
        if tree and not keep:
            accounts.delete_account(redis, tree["root"], recursive=True)
        if started_redis:
            stop_embedded(app.config.data_dir)
        click.echo(f"\nStopped the demo's processes (their log: {log_path}).")


def allow_loopback():
    """The demo's receivers live on loopback, which hooks may not reach unless allowed."""
    allowed = [n for n in os.environ.get("HOOKPOOL_ALLOW_NETWORKS", "").split(",") if n.strip()]
    os.environ["HOOKPOOL_ALLOW_NETWORKS"] = ",".join(allowed + ["127.0.0.0/8"])


def load_samples(samples_dir):
    """{event type: text of NAME.json} for every file whose NAME is an event type."""
    samples = {t: samples_dir / f"{t}.json" for t in EVENT_TYPES if (samples_dir / f"{t}.json").exists()}
    if not samples:
        raise click.UsageError(f"no sample files (channel_create.json, ...) in {samples_dir}")
    return {event_type: path.read_text() for event_type, path in samples.items()}


def sample_events(samples, account_id):
    """Every sample as an Event of account_id: the samples name accounts of their own."""
    return [event for event_type, text in samples.items()
            for event in parse_event_text(text, event_type, account_id=account_id)]


def start_roles(url, worker_count, log_path):
    env = {**os.environ, "REDIS_URL": url, "HOOKPOOL_RETRY_BACKOFF_S": "1"}
    log_file = open(log_path, "ab")
    commands = [["worker"]] * worker_count + [["scheduler"]]
    return [subprocess.Popen([sys.executable, "-m", "hookpool", *command], env=env, stdout=log_file,
                             stderr=subprocess.STDOUT, start_new_session=True) for command in commands]


def stop_roles(processes):
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def build_tree(redis, ok_url, failing_url):
    """Accounts reseller > customer > office, plus a sibling; hooks of every type, verb and format."""
    reseller = accounts.create_account(redis, "Demo Reseller")
    customer = accounts.create_account(redis, "Demo Customer", parent_id=reseller.id)
    office = accounts.create_account(redis, "Demo Office", parent_id=customer.id)
    sibling = accounts.create_account(redis, "Demo Sibling", parent_id=reseller.id)
    settings.set_account(redis, office.id, settings.FAILURE_EXPIRY_MS, DEMO_EXPIRY_MS)
    settings.set_account(redis, office.id, settings.DISABLE_THRESHOLD, DEMO_HOLD_THRESHOLD)

    def hook(account, name, event, verb, data_format, below=False, custom=None, uri=ok_url, retries=2):
        fields = {"name": name, "uri": f"{uri}/{name}", "hook": event, "http_verb": verb, "format": data_format,
                  "include_subaccounts": below, "custom_data": custom or {}, "retries": retries}
        return hooks.create_hook(redis, account.id, fields)

    made = [
        hook(reseller, "calls-started", "channel_create", "post", "json", below=True),
        hook(customer, "calls-answered", "channel_answer", "get", "form-data", below=True),
        hook(customer, "calls-bridged", "channel_bridge", "put", "form-data", below=True),
        hook(customer, "new-voicemail", "notifications", "post", "form-data", below=True,
             custom={"type": "voicemail_new"}),
        hook(office, "calls-ended", "channel_destroy", "post", "form-data"),
        hook(office, "documents", "object", "post", "json", custom={"type": "all", "action": "all"}),
        hook(office, "notices", "notifications", "put", "json", custom={"type": "all"}),
        hook(office, "parking", "parking", "get", "form-data"),
        hook(sibling, "sibling-everything", "all", "post", "json"),
        hook(office, "broken-receiver", "all", "post", "json", uri=failing_url, retries=1),
    ]
    tree = {"root": reseller.id, "customer": customer.id, "office": office.id, "sibling": sibling.id}
    return tree, {h.name: h for h in made}


def expected_deliveries(demo_hooks, events):
    """How many requests the 200 receiver should get: each event, each healthy hook that wants it."""
    healthy = [h for h in demo_hooks.values() if h.name not in ("broken-receiver", "sibling-everything")]
    return sum(1 for e in events for h in healthy if hook_wants(h, e))


def run(redis, tree, demo_hooks, samples, ok_receiver, failing_receiver):
    echo_tree(redis, tree)
    events = sample_events(samples, tree["office"])
    publish(redis, events)
    broken = demo_hooks["broken-receiver"]
    expected_ok = expected_deliveries(demo_hooks, events)
    expected_failures = len(events) * (broken.retries + 1)
    click.echo(f"\nPublished {plural(len(events), 'sample event')} into Demo Office; "
               f"waiting for {expected_ok} deliveries and {expected_failures} failed attempts...")

    wait_for(lambda: len(ok_receiver.received) >= expected_ok
             and redis.zcard(keys.hook_failures(broken.id)) >= expected_failures, "the deliveries")
    echo_deliveries(ok_receiver.received, demo_hooks)

    click.echo("\nFailure status (hookpool failure_status):")
    counts = maintenance.failure_counts(redis, tree["office"])
    echo_table(("Account", "Hook", "Count"), [(c.account_id, c.hook_id, c.count) for c in counts])

    click.echo(f"\nLetting the threshold of {settings.effective(settings.system_values(redis), {}).disable_threshold}"
               " apply to Demo Office; waiting for the disable pass...")
    settings.clear_account(redis, tree["office"], settings.DISABLE_THRESHOLD)
    wait_for(lambda: not hooks.get_hook(redis, broken.id).enabled, "the broken hook to be disabled")
    click.echo("\nThe broken hook, disabled by the system (hookpool hooks show):")
    echo_hook(hooks.get_hook(redis, broken.id))
    sibling_id = demo_hooks["sibling-everything"].id
    crossed = [r for r in ok_receiver.received if r.headers.get("X-Hook-ID") == sibling_id]
    click.echo(f"\nThe 500 receiver got {plural(len(failing_receiver.received), 'request')}; "
               f"the sibling account's hook got {len(crossed)} (it shares no events with Demo Office).")


def wait_for(condition, what):
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise HookpoolError(f"gave up waiting for {what} after {WAIT_S} s; see the roles' log")
        time.sleep(0.2)


def echo_tree(redis, tree):
    click.echo("\nAccounts:")
    for account in accounts.list_accounts(redis):
        if account.id in tree.values():
            click.echo(f"  {'  ' * len(account.path)}{account.name} {account.id}")


def echo_deliveries(received, demo_hooks):
    by_id = {h.id: h for h in demo_hooks.values()}
    rows = []
    for request in sorted(received, key=lambda r: r.time_ms):
        hook = by_id.get(request.headers.get("X-Hook-ID"))
        rows.append((hook.name if hook else "?", hook.hook if hook else "?", request.method,
                     request.headers.get("Content-Type", "-").split(";")[0], len(request.body) or len(request.path),
                     request.headers.get("X-Delivery-Attempt", "-"), request.status))
    click.echo(f"\nDelivered ({len(received)} requests to the 200 receiver):")
    echo_table(("HOOK", "EVENT", "VERB", "CONTENT TYPE", "BYTES", "TRY", "STATUS"), rows)


COMMANDS = [demo]
