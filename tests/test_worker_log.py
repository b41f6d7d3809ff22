"""The worker's log says one line per outcome: a delivery that ran out of retries is
reported by hookpool, without rq's traceback, and still filed in rq's failed registry."""

import pytest
from rq.registry import FailedJobRegistry

from hookpool import accounts, hooks, queues
from hookpool.publishing import publish
from support import wait_for


@pytest.mark.integration
def test_a_delivery_out_of_retries_is_one_warning_line_without_a_traceback(redis_server, real_redis, receiver,
                                                                           processes):
    receiver.answer([500])
    account = accounts.create_account(real_redis, "log")
    hooks.create_hook(real_redis, account.id, {"name": "down", "uri": f"{receiver.url}/down",
                                               "hook": "channel_create", "retries": 0})
    publish(real_redis, [{"account_id": account.id, "hook_event": "channel_create"}])

    worker = processes.worker(burst=True)
    assert worker.wait(timeout_s=60) == 0

    failed = FailedJobRegistry(queues.DELIVERIES, connection=real_redis)
    wait_for(lambda: failed.count == 1, what="the delivery to be filed as failed")
    log = worker.log()
    assert "Traceback" not in log
    assert [line for line in log.splitlines() if "no retries left" in line] != []
    assert len([line for line in log.splitlines() if "HTTP 500" in line]) == 1
