"""Helpers of the fault-injection tests: a receiver that can hold requests open, and finding processes.

The processes themselves come from support.py (Processes, RoleProcess); these
helpers find which of them holds a lock, so a test can pause exactly that one.
"""

import os
import signal
import threading

from hookpool import accounts, hooks
from support import Receiver

# How long a held request waits at most before the receiver answers it anyway.
HOLD_LIMIT_S = 60.0


class HoldingReceiver(Receiver):
    """A Receiver that keeps the first `count` requests to a path open until release() (or HOLD_LIMIT_S)."""

    def __init__(self):
        super().__init__()
        self._holds = {}
        self._released = threading.Event()

    def hold(self, path, count=1):
        self._holds[path] = count

    def release(self):
        self._released.set()

    def _record_and_choose_status(self, request):
        status = super()._record_and_choose_status(request)
        with self._lock:
            left = self._holds.get(request.path, 0)
            if left:
                self._holds[request.path] = left - 1
        if left:
            self._released.wait(HOLD_LIMIT_S)
        return status

    def stop(self):
        self.release()
        super().stop()


def pause(pid):
    os.kill(pid, signal.SIGSTOP)


def resume(pid):
    os.kill(pid, signal.SIGCONT)


def kill_group(role_process):
    """SIGKILL a hookpool process and everything it forked (rq's scheduler child), as a crash would."""
    os.killpg(role_process.pid, signal.SIGKILL)
    role_process.process.wait()


def new_account(redis, name, parent_id=None):
    return accounts.create_account(redis, name, parent_id=parent_id)


def add_hook(redis, receiver, account_id, path, event="channel_create", **fields):
    return hooks.create_hook(redis, account_id, {
        "name": path, "uri": f"{receiver.url}/{path}", "hook": event, **fields,
    })


def call_event(account_id, call_id):
    return {"account_id": account_id, "hook_event": "channel_create", "call_id": call_id}


def call_ids(requests):
    """The call_id form field of each request, in order."""
    return [dict(r.form_pairs())["call_id"] for r in requests]
