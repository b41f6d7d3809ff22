"""The test fixtures themselves: other tests are only as good as these."""

import pytest
import requests

from support import wait_for

pytestmark = pytest.mark.integration


def test_the_redis_server_is_the_suites_own_and_starts_empty(redis_server, real_redis):
    assert redis_server.port != 6379
    assert real_redis.dbsize() == 0
    assert real_redis.config_get("appendonly") == {"appendonly": "yes"}
    assert real_redis.config_get("save") == {"save": ""}


def test_the_redis_server_keeps_its_data_across_a_restart(redis_server):
    redis_server.client().set("survives", "yes")
    port = redis_server.port

    redis_server.restart()

    assert redis_server.port == port
    assert redis_server.client().get("survives") == b"yes"


def test_the_receiver_answers_from_its_script_and_repeats_the_last_status(receiver):
    receiver.answer([500, 201], path="/scripted")

    statuses = [requests.post(f"{receiver.url}/scripted?q=1", data=b"x").status_code for _ in range(3)]
    other = requests.get(f"{receiver.url}/other").status_code

    assert statuses == [500, 201, 201]
    assert other == 200
    first = receiver.requests_to("/scripted")[0]
    assert (first.method, first.target, first.body) == ("POST", "/scripted?q=1", b"x")


def test_wait_for_returns_the_first_truthy_value_and_fails_when_time_is_up():
    values = iter([0, None, "found"])

    assert wait_for(lambda: next(values), interval_s=0) == "found"
    with pytest.raises(AssertionError, match="never"):
        wait_for(lambda: False, timeout_s=0.1, what="never")


def test_a_burst_worker_runs_and_exits(processes):
    assert processes.worker(burst=True).wait() == 0
