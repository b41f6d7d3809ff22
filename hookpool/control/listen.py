"""`hookpool listen`: a webhook receiver that prints what arrives and answers as told.

The Receiver class is also what the demo uses; it runs on a thread, so it can
sit inside another program.
"""

import json
import math
import re
import signal
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import click

from .output import format_ms


@dataclass
class Received:
    """One request as it arrived."""

    time_ms: int
    method: str
    path: str
    headers: dict
    body: bytes
    status: int

    def summary(self):
        return (f"{format_ms(self.time_ms)} {self.method} {self.path} -> {self.status}"
                f" hook={self.headers.get('X-Hook-ID', '-')} delivery={self.headers.get('X-Delivery-ID', '-')}"
                f" try={self.headers.get('X-Delivery-Attempt', '-')} {len(self.body)} bytes")

    def to_dict(self):
        return {"time_ms": self.time_ms, "method": self.method, "path": self.path, "headers": self.headers,
                "body": self.body.decode("utf-8", "replace"), "status": self.status}


class Receiver:
    """An HTTP server on a thread that records requests and answers with scripted statuses.

    statuses are used in turn, the last one repeating: [500, 500, 200] fails
    twice, then succeeds. delay_s holds every answer back that long.
    """

    def __init__(self, host="127.0.0.1", port=0, statuses=(200,), delay_s=0.0, on_request=None):
        self.statuses = list(statuses)
        self.delay_s = delay_s
        self.on_request = on_request
        self.received = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def _next_status(self):
        with self._lock:
            return self.statuses[min(len(self.received), len(self.statuses) - 1)]

    def _record(self, request):
        with self._lock:
            self.received.append(request)
        if self.on_request:
            self.on_request(request)

    def _handler_class(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status = receiver._next_status()
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver._record(Received(int(time.time() * 1000), self.command, self.path,
                                          dict(self.headers), body, status))

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args):
                pass  # each request is reported through on_request instead

        return Handler


def parse_statuses(text):
    parts = text.split(",")
    if not all(STATUS_DIGITS.fullmatch(part) for part in parts):
        raise click.BadParameter(f"{text!r} is not a status code or a comma-separated list of them")
    statuses = [int(part) for part in parts]
    bad = [s for s in statuses if not 100 <= s <= 599]
    if bad:
        raise click.BadParameter(f"{bad[0]} is not an HTTP status code (100 to 599)")
    return statuses


# Three ASCII digits: int() would also take " 200", "+200" and non-ASCII digits.
STATUS_DIGITS = re.compile("[0-9]{3}")


class FiniteFloatRange(click.FloatRange):
    """click.FloatRange that also refuses nan (which passes every comparison) and inf."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


@click.command("listen")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="0 picks a free port.")
@click.option("--status", "status_text", default="200", show_default=True,
              help="Status to answer, or a comma-separated sequence (500,500,200), the last repeating.")
@click.option("--delay", "delay_s", type=FiniteFloatRange(0, 3600), default=0.0, help="Seconds to wait before answering.")
@click.option("--json", "as_json", is_flag=True, help="Print each request as one JSON line.")
def listen(host, port, status_text, delay_s, as_json):
    """Receive webhooks and print them, to try hooks out.

    \b
    Example:
      hookpool listen --port 8000 --status 500,200
      hookpool hooks create $account --name try --uri http://127.0.0.1:8000/in --event all
    """
    statuses = parse_statuses(status_text)

    def show(request):
        if as_json:
            click.echo(json.dumps(request.to_dict(), sort_keys=True))
            return
        click.echo(request.summary())
        if request.body:
            click.echo("  " + request.body.decode("utf-8", "replace")[:2000])

    try:
        receiver = Receiver(host, port, statuses, delay_s, on_request=show)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    stop = threading.Event()
    previous_handlers = catch_stop_signals(stop)
    try:
        receiver.start()
        click.echo(f"listening on http://{host}:{receiver.port}/ (answering {status_text}); Ctrl-C stops",
                   err=True)
        # wait() with a timeout, in a loop: the main thread runs signal handlers only between waits.
        while not stop.wait(1.0):
            pass
    finally:
        receiver.stop()
        restore_signal_handlers(previous_handlers)
    click.echo("stopped", err=True)


def catch_stop_signals(stop):
    """Make SIGINT and SIGTERM set stop: ending listen so is the normal end, not an abort (exit 0).

    Installed before "listening" is printed, so a signal sent on seeing that line is never missed.
    """
    return {number: signal.signal(number, lambda *_: stop.set()) for number in (signal.SIGINT, signal.SIGTERM)}


def restore_signal_handlers(previous_handlers):
    for number, handler in previous_handlers.items():
        signal.signal(number, handler)


COMMANDS = [listen]
