"""Run one hookpool role against a Redis URL: the entry point of the tests' subprocesses.

    python tests/run_role.py worker REDIS_URL [--burst]
    python tests/run_role.py scheduler REDIS_URL

It calls the library functions directly, so the tests of the core do not
depend on the control script.
"""

import argparse
import logging

import redis

from hookpool.scheduler.schedule import run_scheduler
from hookpool.workers.worker import run_worker


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["worker", "scheduler"])
    parser.add_argument("redis_url")
    parser.add_argument("--burst", action="store_true")
    options = parser.parse_args()

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    connection = redis.Redis.from_url(options.redis_url)
    if options.role == "worker":
        run_worker(connection, burst=options.burst)
    else:
        run_scheduler(connection)


if __name__ == "__main__":
    main()
