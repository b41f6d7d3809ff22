"""A Redis that loses its data (restart without persistence, failover to an empty
replica, FLUSHALL) while workers and schedulers run on: they register again, so
`hookpool status` and rq's tools see them instead of calling them dead."""

import pytest

from hookpool import health
from support import wait_for


@pytest.mark.integration
def test_workers_and_schedulers_register_again_after_redis_forgets_them(redis_server, real_redis, processes):
    processes.worker()
    processes.scheduler()
    wait_for(lambda: health.live_workers(real_redis) and health.live_schedulers(real_redis),
             timeout_s=30, what="the worker and the scheduler to register")

    real_redis.flushall()  # this server belongs to the test suite

    assert health.live_workers(real_redis) == [] and health.live_schedulers(real_redis) == []
    wait_for(lambda: health.live_workers(real_redis) and health.live_schedulers(real_redis),
             timeout_s=40, what="the worker and the scheduler to register again")
