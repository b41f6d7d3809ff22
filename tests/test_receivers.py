"""Receivers that misbehave: every attempt ends by its deadline with the right failure kind,
redirects are never followed, Retry-After is honoured within its cap, and a broken hook
holds up nobody else."""

import socket
import struct
import threading
import time

import pytest
import requests
from rq import SimpleWorker
from rq.registry import ScheduledJobRegistry

from hookpool import accounts, hooks, queues
from hookpool.events import Event
from hookpool.hooks import Hook
from hookpool.publishing import publish
from hookpool.workers import jobs
from hookpool.workers.backoff import retry_delay_s
from hookpool.workers.sending import build_request, send
from support import free_port, wait_for

DEADLINE_S = 1.0
# What an attempt may take past its deadline: the watchdog's reaction, closing, scheduling noise.
OVERRUN_S = 1.0
# A trickling receiver sends one byte this often: slow enough that its answer needs
# many times the deadline, fast enough that no single wait trips a socket timeout.
TRICKLE_EVERY_S = 0.1

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


class MisbehavingReceiver:
    """A TCP server on loopback that reads each request and then does `behaviour(connection)`."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.requests = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._connections = []
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/hook"

    def _accept(self):
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection):
        try:
            self.requests.append(_read_request(connection))
            self.behaviour(connection, self._stopped)
        except OSError:
            pass  # the client cut the connection: what these tests expect it to do

    def stop(self):
        self._stopped.set()
        self._listener.close()
        for connection in self._connections:
            connection.close()


def _read_request(connection):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
            while len(body) < length:
                body += connection.recv(65536)
    return head


def _trickle(connection, stopped, data):
    for byte in data:
        if stopped.wait(TRICKLE_EVERY_S):
            return
        connection.sendall(bytes([byte]))


def never_answers(connection, stopped):
    stopped.wait(30)


def answers_after_the_deadline(connection, stopped):
    if not stopped.wait(DEADLINE_S + 1.5):
        connection.sendall(OK)


def trickles_the_status_line(connection, stopped):
    _trickle(connection, stopped, OK)


def trickles_the_headers(connection, stopped):
    connection.sendall(b"HTTP/1.1 200 OK\r\n")
    _trickle(connection, stopped, b"X-Padding: " + b"a" * 60 + b"\r\nContent-Length: 2\r\n\r\nok")


def trickles_the_body(connection, stopped):
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    _trickle(connection, stopped, b"x" * 100)


def sends_endless_headers(connection, stopped):
    connection.sendall(b"HTTP/1.1 200 OK\r\n")
    while not stopped.is_set():
        connection.sendall(b"X-More: " + b"m" * 100 + b"\r\n" * 1)


def sends_a_huge_body(connection, stopped):
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
    block = b"x" * 65536
    while not stopped.is_set():
        connection.sendall(block)


def sends_an_endless_chunked_body(connection, stopped):
    connection.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b"y" * 0x10000 + b"\r\n"
    while not stopped.is_set():
        connection.sendall(chunk)


def resets_the_connection(connection, stopped):
    # SO_LINGER with a zero timeout turns close() into a TCP RST.
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def closes_without_answering(connection, stopped):
    connection.close()


def answers_garbage(connection, stopped):
    connection.sendall(b"this is not HTTP at all\r\n\r\n")
    connection.close()


def answers(status_line, *headers):
    def behaviour(connection, stopped):
        head = [status_line, *headers, "Content-Length: 0", "Connection: close"]
        connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    behaviour.__name__ = f"answers {status_line}"
    return behaviour


def _attempt(url, **options):
    hook = Hook(id="1" * 32, account_id="2" * 32, name="h", uri=url, hook="all")
    request = build_request(hook, {"call_id": "c1"}, "3" * 32, 1)
    started = time.monotonic()
    outcome = send(requests.Session(), request, connect_timeout_s=DEADLINE_S, deadline_s=DEADLINE_S, **options)
    return outcome, time.monotonic() - started


@pytest.fixture
def allow_loopback(monkeypatch):
    monkeypatch.setenv("HOOKPOOL_ALLOW_NETWORKS", "127.0.0.0/8")


@pytest.mark.parametrize("behaviour, kind", [
    (never_answers, "timeout"),
    (answers_after_the_deadline, "timeout"),
    (trickles_the_status_line, "timeout"),
    (trickles_the_headers, "timeout"),
    (trickles_the_body, "deadline"),
    (resets_the_connection, "connection"),
    (closes_without_answering, "connection"),
    (answers_garbage, "connection"),
    (sends_endless_headers, "connection"),
], ids=lambda value: getattr(value, "__name__", value))
def test_a_misbehaving_receiver_costs_one_deadline_at_most_and_its_failure_is_named(allow_loopback, behaviour, kind):
    receiver = MisbehavingReceiver(behaviour)
    try:
        outcome, took_s = _attempt(receiver.url)
    finally:
        receiver.stop()

    assert (outcome.ok, outcome.kind) == (False, kind), outcome.reason
    assert took_s < DEADLINE_S + OVERRUN_S
    assert outcome.reason


def test_a_refused_connection_fails_at_once_as_a_connection_failure(allow_loopback):
    outcome, took_s = _attempt(f"http://127.0.0.1:{free_port()}/hook")

    assert outcome.kind == "connection"
    assert took_s < DEADLINE_S + OVERRUN_S


@pytest.mark.parametrize("behaviour", [sends_a_huge_body, sends_an_endless_chunked_body],
                         ids=lambda value: value.__name__)
def test_a_huge_body_is_read_only_up_to_the_limit(allow_loopback, behaviour):
    receiver = MisbehavingReceiver(behaviour)
    try:
        outcome, took_s = _attempt(receiver.url, body_limit=100_000)
    finally:
        receiver.stop()

    assert (outcome.kind, outcome.status) == ("success", 200)
    assert len(outcome.response_body) == 100_000
    assert took_s < DEADLINE_S + OVERRUN_S


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failure_and_its_location_is_never_visited(allow_loopback, status):
    elsewhere = MisbehavingReceiver(answers("HTTP/1.1 200 OK"))
    location = elsewhere.url
    receiver = MisbehavingReceiver(answers(f"HTTP/1.1 {status} Moved", f"Location: {location}"))
    try:
        outcome, _ = _attempt(receiver.url)
    finally:
        receiver.stop()
        elsewhere.stop()

    assert (outcome.kind, outcome.status) == ("redirect", status)
    assert location in outcome.reason
    assert (len(receiver.requests), len(elsewhere.requests)) == (1, 0)


def test_410_gone_is_a_status_failure_like_any_other(allow_loopback):
    receiver = MisbehavingReceiver(answers("HTTP/1.1 410 Gone"))
    try:
        outcome, _ = _attempt(receiver.url)
    finally:
        receiver.stop()

    assert (outcome.kind, outcome.status, outcome.retry_after_s) == ("status", 410, None)


@pytest.mark.parametrize("retry_after, seconds", [("7", 7), ("0", 0), ("soon", None), ("-3", None)])
def test_429_carries_the_receivers_retry_after(allow_loopback, retry_after, seconds):
    receiver = MisbehavingReceiver(answers("HTTP/1.1 429 Too Many Requests", f"Retry-After: {retry_after}"))
    try:
        outcome, _ = _attempt(receiver.url)
    finally:
        receiver.stop()

    assert (outcome.kind, outcome.status, outcome.retry_after_s) == ("status", 429, seconds)


def test_retry_after_is_honoured_up_to_its_cap_and_never_shortens_the_backoff():
    no_jitter = lambda: 1.0  # noqa: E731

    assert retry_delay_s(1, 2, 60, retry_after_s=7, retry_after_cap_s=300, rand=no_jitter) == 7
    assert retry_delay_s(1, 2, 60, retry_after_s=86_400, retry_after_cap_s=300, rand=no_jitter) == 300
    assert retry_delay_s(3, 2, 60, retry_after_s=1, retry_after_cap_s=300, rand=no_jitter) == 8


# --- in the pipeline: real redis-server, worker processes, receivers -------------------

PIPELINE_DEADLINE_S = 20


@pytest.mark.integration
@pytest.mark.parametrize("behaviour", [never_answers, trickles_the_headers], ids=lambda value: value.__name__)
def test_with_the_middle_of_three_hooks_broken_the_other_two_are_delivered_within_seconds(
        real_redis, receiver, processes, behaviour):
    broken = MisbehavingReceiver(behaviour)
    try:
        account = accounts.create_account(real_redis, "three hooks")
        # Ids in this order put the broken hook between the others in every fan-out.
        for hook_id, uri in (("1" * 32, f"{receiver.url}/first"), ("2" * 32, broken.url),
                             ("3" * 32, f"{receiver.url}/third")):
            hooks.create_hook(real_redis, account.id, {"name": hook_id[:4], "uri": uri, "hook": "channel_create",
                                                       "retries": 0}, hook_id=hook_id)
        for _ in range(2):
            processes.worker(env={"HOOKPOOL_DELIVERY_DEADLINE_S": str(PIPELINE_DEADLINE_S)})

        publish(real_redis, [{"account_id": account.id, "hook_event": "channel_create", "n": n} for n in range(3)])

        # Well inside one deadline of the broken hook: nothing waited for it.
        wait_for(lambda: len(receiver.requests) == 6, timeout_s=PIPELINE_DEADLINE_S / 2,
                 what="the two healthy hooks' six deliveries")
    finally:
        broken.stop()

    assert sorted(r.path for r in receiver.requests) == ["/first"] * 3 + ["/third"] * 3
    assert len(broken.requests) >= 1


@pytest.mark.parametrize("retry_after, expected_s", [("30", 30), ("100000", 45)])
def test_a_429s_retry_after_schedules_the_retry_in_rq_no_later_than_its_cap(
        real_redis, allow_loopback, monkeypatch, retry_after, expected_s):
    monkeypatch.setenv("HOOKPOOL_RETRY_AFTER_MAX_S", "45")
    receiver = MisbehavingReceiver(answers("HTTP/1.1 429 Too Many Requests", f"Retry-After: {retry_after}"))
    try:
        account = accounts.create_account(real_redis, "rate limited")
        hook = hooks.create_hook(real_redis, account.id, {"name": "limited", "uri": receiver.url,
                                                          "hook": "channel_create", "retries": 1})
        event = Event(account.id, "channel_create", {"account_id": account.id, "hook_event": "channel_create"})
        (delivery_id,) = jobs.enqueue_deliveries(real_redis, event, [hook])
        SimpleWorker([queues.queue(real_redis, queues.DELIVERIES)], connection=real_redis).work(burst=True)
    finally:
        receiver.stop()

    registry = ScheduledJobRegistry(queues.DELIVERIES, connection=real_redis)
    wait_s = registry.get_scheduled_time(delivery_id).timestamp() - time.time()
    assert expected_s - 5 < wait_s <= expected_s
