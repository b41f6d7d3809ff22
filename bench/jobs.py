"""The baselines' jobs, as an RQ user would write them."""

import requests


def noop():
    """Nothing at all: what rq's own bookkeeping of one job costs."""


def naive_send(url, payload):
    """A webhook sender written the obvious way: a fresh requests.post per job, no session."""
    response = requests.post(url, json=payload, timeout=15)
    response.raise_for_status()
    return response.status_code
