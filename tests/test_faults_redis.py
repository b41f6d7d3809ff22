"""Fault 2: Redis goes away and comes back, with workers idle and with deliveries in flight.

The suite's redis-server persists with appendonly yes (appendfsync everysec,
Redis's default). Whatever publish() accepted must reach the receiver;
publishing while Redis is down must fail loudly.
"""

import subprocess
import sys
import threading
import time

import pytest
import redis

from fault_support import add_hook, call_event, call_ids, new_account
from hookpool.publishing import publish
from support import REPO_ROOT, role_environment, wait_for

pytestmark = pytest.mark.integration

# How long Redis stays down in the in-flight test: longer than redis-py's own retries.
OUTAGE_S = 3.0
EVENTS_PUBLISHED = 40
QUIET_PERIOD_S = 3.0
# An abandoned delivery comes back within job timeout + lease margin + maintenance interval
# (tests/test_faults_worker.py); with the default 15 s deadline that is 40 s.
RECOVERY_BOUND_S = 45
# The fairness cap (workers/fairness.py) is not what these tests are about: off.
WORKER_ENV = {"HOOKPOOL_HOOK_WORKER_SHARE": "1"}


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch):
    monkeypatch.setenv("HOOKPOOL_ALLOW_NETWORKS", "127.0.0.0/8")


def test_idle_workers_and_scheduler_carry_on_by_themselves_after_redis_restarts(
        real_redis, redis_server, receiver, processes):
    account = new_account(real_redis, "tenant")
    add_hook(real_redis, receiver, account.id, "calls")
    processes.worker()
    processes.worker()
    processes.scheduler()
    publish(real_redis, [call_event(account.id, "before")])
    wait_for(lambda: receiver.requests_to("/calls"), timeout_s=15, what="the delivery before the restart")

    redis_server.restart()
    client = redis_server.client()
    publish(client, [call_event(account.id, "after")])

    wait_for(lambda: len(receiver.requests_to("/calls")) >= 2, timeout_s=30, what="the delivery after the restart")
    time.sleep(QUIET_PERIOD_S)
    assert call_ids(receiver.requests_to("/calls")) == ["before", "after"]
    assert all(p.process.poll() is None for p in processes.started), "a process died with Redis"


def test_every_event_accepted_around_a_redis_crash_is_delivered(redis_server, receiver, processes):
    client = redis_server.client()
    account = new_account(client, "tenant")
    add_hook(client, receiver, account.id, "calls", retries=0)
    receiver.delay_s = 0.05  # keeps deliveries in flight when Redis dies
    processes.worker(env=WORKER_ENV)
    processes.worker(env=WORKER_ENV)
    processes.scheduler()

    accepted, refused = [], []
    publisher = threading.Thread(target=_publish_steadily, args=(redis_server, account.id, accepted, refused))
    publisher.start()
    time.sleep(1.0)
    redis_server.kill()  # SIGKILL: no shutdown, no final write of the append-only file
    time.sleep(OUTAGE_S)
    redis_server.start()
    publisher.join()

    assert accepted, "nothing was accepted"
    assert refused, "the publisher never noticed Redis was down"
    wait_for(lambda: set(accepted) <= set(call_ids(receiver.requests_to("/calls"))),
             timeout_s=RECOVERY_BOUND_S + 15, what="every accepted event to be delivered")
    print(f"{len(accepted)} events accepted, {len(refused)} refused while Redis was down, "
          f"{len(receiver.requests_to('/calls'))} requests received")


def _publish_steadily(server, account_id, accepted, refused):
    """Publish one event every 0.1 s, noting which were accepted and which refused."""
    client = server.client(socket_connect_timeout=0.5, socket_timeout=2)
    for number in range(EVENTS_PUBLISHED + int(OUTAGE_S * 10)):
        call_id = f"call-{number}"
        try:
            publish(client, [call_event(account_id, call_id)])
            accepted.append(call_id)
        except redis.RedisError:
            refused.append(call_id)
        time.sleep(0.1)


def test_publishing_while_redis_is_down_prints_one_line_and_exits_non_zero(redis_server, tmp_path):
    events = tmp_path / "events.json"
    events.write_text('{"account_id": "%s", "hook_event": "channel_create"}' % ("a" * 32))
    redis_server.stop()

    done = subprocess.run([sys.executable, "-m", "hookpool", "publish", str(events)], cwd=REPO_ROOT,
                          env=role_environment(redis_server.url), capture_output=True, text=True, timeout=60)

    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Redis" in lines[0] and "Traceback" not in done.stderr
