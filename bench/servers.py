"""The processes a benchmark run starts and stops: redis-server, the receiver, workers.

Everything listens on loopback ports chosen at start and lives in one
temporary folder; nothing touches a Redis the machine already runs.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import redis

from hookpool.connection import redis_server_binary

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.01)


class RedisServer:
    """A redis-server of the run's own, without persistence: disk writes would only add noise."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                   "--dir", str(self.folder), "--save", "", "--appendonly", "no",
                   "--logfile", str(self.folder / "redis.log")]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, START_TIMEOUT_S, f"redis-server on port {self.port}")
        return self

    def _answers(self):
        try:
            return self.client().ping()
        except redis.ConnectionError:
            return False

    def client(self):
        return redis.Redis.from_url(self.url)

    def version(self):
        return self.client().info("server")["redis_version"]

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=STOP_TIMEOUT_S)


class Receiver:
    """bench/receiver.py in a process of its own."""

    def __init__(self, folder):
        self.port_file = Path(folder) / "receiver.port"
        self.process = None
        self.url = None

    def start(self):
        command = [sys.executable, "-m", "bench.receiver", str(self.port_file)]
        self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=_env_with_repo())
        wait_until(self._port_known, START_TIMEOUT_S, "the receiver's port")
        self.url = f"http://127.0.0.1:{self.port_file.read_text().strip()}"
        return self

    def _port_known(self):
        return self.port_file.exists() and self.port_file.read_text().strip().isdigit()

    def count(self):
        return self._get("/_stats")["count"]

    def take_latencies_ms(self):
        return self._get("/_latencies")

    def _get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=5) as reply:
            return json.loads(reply.read())

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=STOP_TIMEOUT_S)


def _env_with_repo(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKPOOL_") and k != "REDIS_URL"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.update(extra or {})
    return env


class Workers:
    """Worker processes started together, each in a session of its own (rq forks helpers)."""

    def __init__(self, command, count, log_path, env=None):
        self.processes = []
        with open(log_path, "ab") as log:
            for _ in range(count):
                self.processes.append(subprocess.Popen(
                    command, cwd=REPO_ROOT, env=_env_with_repo(env), stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True))

    def stop(self):
        for process in self.processes:
            _signal_group(process, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)
            process.wait()


def _signal_group(process, sig):
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def rq_worker_command(redis_url, queue_name, worker_class=None):
    """Stock `rq worker`, quiet: the baselines do not pay for logging every job."""
    command = [sys.executable, "-m", "rq.cli", "worker", "--url", redis_url, "--quiet", "-c", "bench.rq_settings"]
    if worker_class:
        command += ["--worker-class", worker_class]
    return command + [queue_name]


def hookpool_worker_command():
    return [sys.executable, "-m", "hookpool", "worker"]


def hookpool_worker_env(redis_url):
    return {"REDIS_URL": redis_url, "HOOKPOOL_ALLOW_NETWORKS": "127.0.0.0/8"}
