"""Fixtures: an in-memory Redis, a real redis-server, an HTTP receiver, worker processes.

Logic tests use `fake_redis`. Integration tests use `redis_server` (a
redis-server the suite starts on a free loopback port and owns outright, so
flushing it is safe), `receiver` (a real HTTP server recording what it is sent)
and `processes` (hookpool workers and schedulers in subprocesses).
"""

import fakeredis
import pytest

from support import Processes, Receiver, RedisServer


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: needs a real redis-server, worker processes and HTTP")


@pytest.fixture
def fake_redis():
    """An empty in-memory Redis; a FakeServer per test, so no data leaks from one test to the next."""
    return fakeredis.FakeRedis(server=fakeredis.FakeServer())


@pytest.fixture(scope="session")
def _redis_server_process(tmp_path_factory):
    # One server for the whole session keeps the suite fast; each test empties it first.
    server = RedisServer(tmp_path_factory.mktemp("redis-server"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_server(_redis_server_process):
    """The suite's own redis-server, running and empty when the test starts."""
    server = _redis_server_process
    if not server.running:
        server.start()  # a fault test before this one may have left it stopped
    # Safe: this server was started by the suite, on a port it chose, in a folder it made.
    server.client().flushall()
    return server


@pytest.fixture
def real_redis(redis_server):
    client = redis_server.client()
    yield client
    client.close()


@pytest.fixture
def receiver(monkeypatch):
    """A recording HTTP server on loopback, which this process is allowed to deliver to."""
    monkeypatch.setenv("HOOKPOOL_ALLOW_NETWORKS", "127.0.0.0/8")
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def processes(redis_server, tmp_path):
    started = Processes(redis_server.url, tmp_path)
    yield started
    started.stop_all()
