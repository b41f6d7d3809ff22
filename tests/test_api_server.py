"""The API as operators run it: `hookpool api` (waitress) in a process of its own, on a real Redis,
with a real worker delivering to a real receiver, and real HTTP requests."""

import signal
import subprocess
import sys

import pytest
import requests

from support import REPO_ROOT, GroupProcess, free_port, role_environment, wait_for

pytestmark = pytest.mark.integration


class ApiServer(GroupProcess):
    def __init__(self, redis_url, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = role_environment(redis_url)
        super().__init__([sys.executable, "-m", "hookpool", "api", "--port", str(self.port)], self.env, log_path)
        wait_for(self._answers, timeout_s=20, what=f"hookpool api on port {self.port}")

    def _answers(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"hookpool api exited:\n{self.log()[-3000:]}")
        try:
            return requests.get(self.url + "/v2/openapi.json", timeout=1).ok
        except requests.ConnectionError:
            return False

    def issue_key(self, *options):
        done = subprocess.run([sys.executable, "-m", "hookpool", "keys", "create", *options], cwd=REPO_ROOT,
                              env=self.env, capture_output=True, text=True, timeout=30, check=True)
        return done.stdout.strip()


@pytest.fixture
def api_server(redis_server, tmp_path):
    server = ApiServer(redis_server.url, tmp_path / "api.log")
    yield server
    server.stop()
    print(server.log()[-4000:])


class Client:
    def __init__(self, base_url, api_key):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["X-Auth-Token"] = api_key

    def call(self, method, path, data=None, expect=200):
        answer = self.session.request(method, self.base_url + path, json=None if data is None else {"data": data},
                                      timeout=10)
        assert answer.status_code == expect, answer.text
        return answer.json()["data"]


def test_the_served_api_answers_401_without_a_key_and_kazoos_envelope_with_one(api_server):
    anonymous = requests.get(api_server.url + "/v2/webhooks", timeout=5)
    client = Client(api_server.url, api_server.issue_key("--system"))

    assert anonymous.status_code == 401 and anonymous.json()["status"] == "error"
    assert {t["id"] for t in client.call("GET", "/v2/webhooks")} >= {"channel_create", "all"}
    assert requests.get(api_server.url + "/v2/openapi.json", timeout=5).json()["openapi"].startswith("3.")


def test_an_event_posted_over_http_is_delivered_and_a_failed_delivery_is_replayed(api_server, processes, receiver):
    client = Client(api_server.url, api_server.issue_key("--system"))
    account_id = client.call("PUT", "/v2/accounts", {"name": "Office"}, expect=201)["id"]
    account = Client(api_server.url, api_server.issue_key("--account", account_id))
    for path in ("/ok", "/flaky"):
        account.call("PUT", f"/v2/accounts/{account_id}/webhooks",
                     {"name": path, "uri": receiver.url + path, "hook": "channel_create", "retries": 0,
                      "format": "json"}, expect=201)
    receiver.answer([500], path="/flaky")
    processes.worker()

    accepted = account.call("POST", f"/v2/accounts/{account_id}/events",
                            {"hook_event": "channel_create", "call_id": "call-1"}, expect=202)
    wait_for(lambda: receiver.requests_to("/ok") and receiver.requests_to("/flaky"), what="both deliveries")
    failed = wait_for(lambda: account.call("GET", f"/v2/accounts/{account_id}/webhooks/attempts?failed=true"),
                      what="the failed attempt in the log")
    receiver.answer([200], path="/flaky")
    replay = account.call("POST", f"/v2/accounts/{account_id}/replays", {"since_ms": 0}, expect=202)
    resent = wait_for(lambda: receiver.requests_to("/flaky")[1:], what="the replayed delivery")

    assert accepted["accepted"] == 1
    assert receiver.requests_to("/ok")[0].json()["call_id"] == "call-1"
    assert [r["delivery_id"] for r in replay["replayed"]] == [failed[0]["delivery_id"]]
    assert resent[0].json()["call_id"] == "call-1"
    assert resent[0].headers["X-Delivery-ID"] == replay["replayed"][0]["replay_id"] != failed[0]["delivery_id"]
    assert len(receiver.requests_to("/ok")) == 1


def test_the_api_stops_on_sigterm(api_server):
    api_server.process.send_signal(signal.SIGTERM)

    api_server.process.wait(timeout=10)

    assert api_server.process.returncode in (0, -signal.SIGTERM)
