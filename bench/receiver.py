"""A fast HTTP receiver for the benchmark, run in a process of its own.

It answers every request 200 on a keep-alive connection and counts what it
got, so the worker being measured pays for a real HTTP exchange while the
receiver stays out of its way (a process of its own: no shared GIL). Requests
whose body carries a "bench_published_s" epoch time also record the latency
from publishing to arrival.

Two control paths answer the benchmark itself and are not counted:

    GET /_stats       {"count": N}
    GET /_latencies   the latencies recorded so far, in ms, as a JSON list; clears them

    python -m bench.receiver PORT_FILE    # writes the port it listens on into PORT_FILE
"""

import asyncio
import json
import re
import sys
import time

REPLY_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
# The payload field the benchmark's events carry; found by a regex so that no JSON is parsed per request.
PUBLISHED_FIELD = re.compile(rb'"bench_published_s": ?([0-9.]+)')


class Tally:
    def __init__(self):
        self.count = 0
        self.latencies_ms = []

    def record(self, body):
        self.count += 1
        found = PUBLISHED_FIELD.search(body)
        if found:
            self.latencies_ms.append((time.time() - float(found.group(1))) * 1000)

    def control_reply(self, target):
        if target == b"/_stats":
            document = {"count": self.count}
        else:
            document, self.latencies_ms = self.latencies_ms, []
        body = json.dumps(document).encode()
        return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


class Exchange(asyncio.Protocol):
    """One keep-alive connection: requests are parsed from a buffer as bytes arrive."""

    def __init__(self, tally):
        self.tally = tally
        self.buffer = b""
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        while self._answer_one():
            pass

    def _answer_one(self):
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        head = self.buffer[:head_end]
        length = _content_length(head)
        request_end = head_end + 4 + length
        if len(self.buffer) < request_end:
            return False

        body = self.buffer[head_end + 4:request_end]
        self.buffer = self.buffer[request_end:]
        target = head.split(b" ", 2)[1]
        if target.startswith(b"/_"):
            self.transport.write(self.tally.control_reply(target))
        else:
            self.tally.record(body)
            self.transport.write(REPLY_OK)
        return True


def _content_length(head):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


async def serve(port_file):
    tally = Tally()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Exchange(tally), "127.0.0.1", 0, backlog=512)
    port = server.sockets[0].getsockname()[1]
    with open(port_file, "w") as out:
        out.write(str(port))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
