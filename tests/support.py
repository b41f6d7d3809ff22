"""What the tests run against: a redis-server of their own, an HTTP receiver, hookpool processes.

The fixtures in conftest.py wrap these; tests import the helpers
(wait_for, load_samples, bracket_pairs) from here directly.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import redis

from hookpool.connection import redis_server_binary

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = REPO_ROOT / "examples" / "kazoo-samples"
RUN_ROLE = Path(__file__).resolve().parent / "run_role.py"

REDIS_START_TIMEOUT_S = 10.0
PROCESS_STOP_TIMEOUT_S = 5.0
# Short enough that a delivery with two retries is over in a few seconds.
TEST_RETRY_BACKOFF_S = "1"


# --- waiting -------------------------------------------------------------------

def wait_for(condition, timeout_s=15.0, interval_s=0.05, what=None):
    """Poll condition until it returns something truthy and return that; fail after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what or condition.__name__}")
        time.sleep(interval_s)


# --- a real redis-server -----------------------------------------------------------

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A redis-server owned by the test suite: loopback only, append-only file, no RDB snapshots."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.port = free_port()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, **options):
        return redis.Redis.from_url(self.url, **options)

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def start(self):
        command = [
            redis_server_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--save", "",
            "--logfile", str(self.directory / "redis.log"),
        ]
        self.process = subprocess.Popen(command, cwd=self.directory, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        wait_for(self._answers, timeout_s=REDIS_START_TIMEOUT_S, what=f"redis-server on port {self.port}")

    def _answers(self):
        if self.process.poll() is not None:
            log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"redis-server exited with status {self.process.returncode}:\n{log}")
        try:
            return self.client(socket_connect_timeout=0.2).ping()
        except redis.ConnectionError:
            return False

    def stop(self):
        """Shut down as an operator would: SIGTERM, which flushes the append-only file first."""
        self._end(signal.SIGTERM)

    def kill(self):
        """Die without warning, as in a crash."""
        self._end(signal.SIGKILL)

    def _end(self, sig):
        if not self.running:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=PROCESS_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self):
        """Stop, then start on the same port with the same folder, so the data comes back."""
        self.stop()
        self.start()


# --- the HTTP receiver ------------------------------------------------------------

@dataclass
class ReceivedRequest:
    method: str
    target: str  # the request target exactly as it arrived: path and raw query
    headers: Message
    body: bytes
    time_s: float

    @property
    def path(self):
        return urlsplit(self.target).path

    @property
    def query(self):
        """The raw query string, not decoded."""
        return self.target.partition("?")[2]

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def form_pairs(self):
        return parse_qsl(self.body.decode("ascii"), keep_blank_values=True, strict_parsing=bool(self.body))


class Receiver:
    """Records every request, and answers each path from a script of statuses whose last one repeats."""

    def __init__(self):
        self.requests = []
        self.delay_s = 0.0
        self._scripts = {}
        self._default_script = [200]
        self._answered = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval, because shutdown() waits for the loop to notice.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, statuses, path=None):
        """Answer path (or, with no path, every path without a script of its own) with statuses in turn."""
        with self._lock:
            if path is None:
                self._default_script = list(statuses)
            else:
                self._scripts[path] = list(statuses)

    def requests_to(self, path):
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _record_and_choose_status(self, request):
        with self._lock:
            self.requests.append(request)
            script = self._scripts.get(request.path, self._default_script)
            answered = self._answered.get(request.path, 0)
            self._answered[request.path] = answered + 1
            return script[min(answered, len(script) - 1)]

    def _handler_class(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = ReceivedRequest(self.command, self.path, self.headers, body, time.time())
                status = receiver._record_and_choose_status(request)
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                self._reply(status)

            def _reply(self, status):
                text = b"ok" if 200 <= status < 300 else b"not ok"
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            do_GET = do_POST = do_PUT = _handle

            def log_message(self, *args):
                pass  # the test reads self.requests instead

        return Handler

    def start(self):
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


# --- worker and scheduler processes ---------------------------------------------------

def role_environment(redis_url, **overrides):
    """A hookpool subprocess's environment: ours, minus any HOOKPOOL_* or REDIS_URL the caller had."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKPOOL_") and k != "REDIS_URL"}
    env.update({
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONUNBUFFERED": "1",
        "REDIS_URL": redis_url,
        "HOOKPOOL_RETRY_BACKOFF_S": TEST_RETRY_BACKOFF_S,
        # The receivers here listen on loopback, which hookpool refuses unless the operator allows it.
        "HOOKPOOL_ALLOW_NETWORKS": "127.0.0.0/8",
    })
    env.update(overrides)
    return env


class GroupProcess:
    """A child process in a session (process group) of its own, its output in log_path.

    Stopping signals the whole group, so it also reaches what the process
    forked (rq's scheduler child of a worker).
    """

    def __init__(self, command, env, log_path):
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    @property
    def pid(self):
        return self.process.pid

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        """SIGTERM the process group (rq's warm shutdown), then SIGKILL whatever is left of it."""
        self.ask_to_stop()
        self.make_sure_stopped()

    def ask_to_stop(self):
        self._signal_group(signal.SIGTERM)

    def make_sure_stopped(self):
        try:
            self.process.wait(timeout=PROCESS_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
        self._signal_group(signal.SIGKILL)
        self.process.wait()

    def _signal_group(self, sig):
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass  # the whole group has exited already


class RoleProcess(GroupProcess):
    """One hookpool worker or scheduler, started through tests/run_role.py."""

    def __init__(self, role, redis_url, log_path, burst=False, env=None):
        self.role = role
        command = [sys.executable, str(RUN_ROLE), role, redis_url] + (["--burst"] if burst else [])
        super().__init__(command, role_environment(redis_url, **(env or {})), log_path)

    def wait(self, timeout_s=30.0):
        """Wait for a burst worker to finish; return its exit status."""
        return self.process.wait(timeout=timeout_s)


class Processes:
    """Starts hookpool processes against one Redis URL; stops every one of them at teardown."""

    def __init__(self, redis_url, log_dir):
        self.redis_url = redis_url
        self.log_dir = log_dir
        self.started = []

    def worker(self, burst=False, env=None):
        return self._start("worker", burst=burst, env=env)

    def scheduler(self, env=None):
        return self._start("scheduler", env=env)

    def _start(self, role, **options):
        log_path = self.log_dir / f"{role}-{len(self.started) + 1}.log"
        process = RoleProcess(role, self.redis_url, log_path, **options)
        self.started.append(process)
        return process

    def stop_all(self):
        # All asked first, so that their shutdowns overlap.
        for process in self.started:
            process.ask_to_stop()
        for process in self.started:
            process.make_sure_stopped()
        # pytest shows this output only for a failed test, where it is the first thing to read.
        for process in self.started:
            print(f"----- {process.log_path.name} (exit status {process.process.returncode}) -----")
            print(process.log()[-6000:])


# --- payloads -------------------------------------------------------------------------

def load_samples():
    """{event type: [payload, ...]} from examples/kazoo-samples, whose files are named by type."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(SAMPLES_DIR.glob("*.json"))}


def bracket_pairs(value, prefix=""):
    """The test's own statement of the form encoding hookpool promises, as (key, text) pairs.

    Objects nest as key[sub], lists of scalars repeat key[], lists of objects or
    lists are indexed key[0][sub]; true/false are words, null is empty, and
    empty objects and lists send nothing.
    """
    if isinstance(value, dict):
        keyed = ((f"{prefix}[{key}]" if prefix else key, item) for key, item in value.items())
        return [pair for key, item in keyed for pair in bracket_pairs(item, key)]
    if isinstance(value, list):
        keyed = ((f"{prefix}[{index}]" if isinstance(item, (dict, list)) else f"{prefix}[]", item)
                 for index, item in enumerate(value))
        return [pair for key, item in keyed for pair in bracket_pairs(item, key)]
    if value is None:
        return [(prefix, "")]
    if isinstance(value, bool):
        return [(prefix, "true" if value else "false")]
    return [(prefix, str(value))]
