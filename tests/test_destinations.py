"""Destinations inside the operator's network are refused, in any spelling, when a hook
is written and again when a delivery connects; HOOKPOOL_ALLOW_NETWORKS lets them through."""

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from urllib3.util import connection as urllib3_connection

from hookpool import accounts, destinations, hooks
from hookpool.config import load_config, parse_networks
from hookpool.errors import ConfigurationError, HookpoolError, ValidationError
from hookpool.ids import new_id
from hookpool.workers import jobs, transport
from hookpool.workers.sending import build_request, send

LOOPBACK_ONLY = parse_networks("127.0.0.0/8")

REFUSED_SPELLINGS = [
    # host as it appears in a URI (brackets removed), and the rule it must be refused under
    ("127.0.0.1", "loopback"),
    ("127.1", "loopback"),
    ("0177.0.0.1", "loopback"),
    ("0x7f.1", "loopback"),
    ("0x7f000001", "loopback"),
    ("2130706433", "loopback"),
    ("017700000001", "loopback"),
    ("127.255.255.254", "loopback"),
    ("localhost", "loopback"),
    ("::1", "loopback"),
    ("0:0:0:0:0:0:0:1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:7f00:1", "loopback"),
    ("0:0:0:0:0:ffff:127.0.0.1", "loopback"),
    ("::127.0.0.1", "loopback"),
    ("10.0.0.1", "private"),
    ("012.0.0.1", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("::ffff:10.0.0.1", "private"),
    ("fc00::1", "private"),
    ("fd00:ec2::254", "private"),
    ("169.254.169.254", "link-local"),
    ("0xa9.0xfe.0xa9.0xfe", "link-local"),
    ("2852039166", "link-local"),
    ("::ffff:169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("0.0.0.0", "unspecified"),
    ("0", "unspecified"),
    ("::", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("255.255.255.255", "reserved"),
    ("240.0.0.1", "reserved"),
    ("64:ff9b::10.0.0.1", "private"),
    ("64:ff9b::a9fe:a9fe", "link-local"),
    ("2002:7f00:1::1", "loopback"),
    ("2002:c0a8:101::", "private"),
    ("5f00::1", "outside IPv6 global unicast"),
]

ALLOWED_SPELLINGS = [
    "8.8.8.8",
    "1.1.1.1",
    "0x08.0x08.0x08.0x08",
    "134744072",
    "93.184.215.14",
    "100.128.0.1",
    "172.32.0.1",
    "192.169.0.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.fixture(autouse=True)
def no_allow_list(monkeypatch):
    """Each test starts with the default: nothing inside the operator's network is allowed."""
    monkeypatch.delenv("HOOKPOOL_ALLOW_NETWORKS", raising=False)


class FakeDns:
    """Names a test answers for: name -> list of addresses, or a function giving one list per lookup.

    Other names, and IP literals, go to the real resolver. Lookups of answered names are counted.
    """

    def __init__(self, real_getaddrinfo):
        self.answers = {}
        self.lookups = {}
        self.real_getaddrinfo = real_getaddrinfo

    def __setitem__(self, name, answer):
        self.answers[name] = answer

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        if host not in self.answers:
            return self.real_getaddrinfo(host, port, family, type, proto, flags)
        self.lookups[host] = self.lookups.get(host, 0) + 1
        answer = self.answers[host]
        addresses = answer() if callable(answer) else answer
        return [_addrinfo(address, port) for address in addresses]


@pytest.fixture
def fake_dns(monkeypatch):
    dns = FakeDns(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    return dns


def _addrinfo(address, port):
    port = int(port or 0)
    if ipaddress.ip_address(address).version == 6:
        return socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)
    return socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)


@pytest.fixture
def connections(monkeypatch):
    """Every socket connection a delivery opens, as (address, port); the real connection is still made."""
    made = []
    real_create_connection = urllib3_connection.create_connection

    def create_connection(address, *args, **kwargs):
        made.append(address)
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(urllib3_connection, "create_connection", create_connection)
    return made


class _Receiver:
    """A real HTTP server on 127.0.0.1, in a thread, answering every request with one canned response."""

    def __init__(self, status=200, headers=None, certificate=None):
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers offer

            def _answer(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                receiver.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                          "body": body, "client_port": self.client_address[1]})
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if certificate:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*certificate)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _hook(uri, **fields):
    return hooks.Hook(id=new_id(), account_id=new_id(), name="test", uri=uri, hook="all", **fields)


def _request(uri, verb="post", **fields):
    return build_request(_hook(uri, http_verb=verb, **fields), {"hook_event": "channel_create"}, new_id(), 1)


def _account(redis):
    return accounts.create_account(redis, "tenant")


# --- the decision, address by address ----------------------------------------------------

@pytest.mark.parametrize("host, rule", REFUSED_SPELLINGS)
def test_internal_address_is_refused_in_every_spelling(host, rule):
    refusal = destinations.refusal_for_host(host, allowed=())

    assert refusal is not None, f"{host} was not refused"
    assert rule in refusal.rule


@pytest.mark.parametrize("host", ALLOWED_SPELLINGS)
def test_public_address_is_allowed_in_every_spelling(host):
    assert destinations.refusal_for_host(host, allowed=()) is None


def test_refusal_names_the_resolved_address_and_the_rule():
    refusal = destinations.refusal_for_host("0xa9.0xfe.0xa9.0xfe", allowed=())

    assert str(refusal) == ("0xa9.0xfe.0xa9.0xfe resolves to 169.254.169.254, which is "
                            "link-local, where cloud metadata services answer (169.254.0.0/16)")


def test_mapped_ipv6_refusal_names_the_ipv4_address_it_carries():
    refusal = destinations.refusal_for_host("::ffff:192.168.0.10", allowed=())

    assert refusal.matched == ipaddress.ip_address("192.168.0.10")
    assert "carries 192.168.0.10, which is private (192.168.0.0/16)" in str(refusal)


def test_loopback_allow_list_allows_loopback_in_any_spelling_but_nothing_else():
    for host in ("127.0.0.1", "127.1", "2130706433", "::ffff:127.0.0.1", "localhost"):
        assert destinations.refusal_for_host(host, allowed=LOOPBACK_ONLY) is None, host

    for host in ("10.0.0.1", "169.254.169.254", "::1", "192.168.1.1"):
        assert destinations.refusal_for_host(host, allowed=LOOPBACK_ONLY) is not None, host


def test_allow_list_of_one_address_allows_only_that_address():
    allowed = parse_networks("10.1.2.3")

    assert destinations.refusal_for_host("10.1.2.3", allowed=allowed) is None
    assert destinations.refusal_for_host("10.1.2.4", allowed=allowed) is not None


def test_name_that_does_not_resolve_is_not_refused_when_written():
    assert destinations.refusal_for_host("receiver.invalid", allowed=()) is None


def test_name_resolving_only_to_internal_addresses_is_refused(fake_dns):
    fake_dns["internal.test"] = ["10.0.0.7", "fd12::7"]

    refusal = destinations.refusal_for_host("internal.test", allowed=())

    assert str(refusal).startswith("internal.test resolves to 10.0.0.7, which is private")


def test_name_resolving_to_public_and_internal_addresses_connects_only_to_the_public_ones(fake_dns):
    fake_dns["mixed.test"] = ["10.0.0.7", "93.184.215.14", "::1"]

    assert destinations.refusal_for_host("mixed.test", allowed=()) is None
    assert destinations.checked_addresses("mixed.test", 80, allowed=()) == [ipaddress.ip_address("93.184.215.14")]


# --- the allow list ---------------------------------------------------------------------------

def test_allow_list_is_read_from_the_environment_at_call_time(monkeypatch):
    assert destinations.allowed_networks() == ()

    monkeypatch.setenv("HOOKPOOL_ALLOW_NETWORKS", " 127.0.0.0/8, fd00::/8 ,")

    assert destinations.allowed_networks() == (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("fd00::/8"))


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "10.0.0.1/8", "internal", "10.0.0.0/8;"])
def test_bad_cidr_in_allow_list_is_a_configuration_error_naming_it(bad):
    with pytest.raises(ConfigurationError) as raised:
        load_config({"HOOKPOOL_ALLOW_NETWORKS": f"127.0.0.0/8,{bad}"})

    assert "HOOKPOOL_ALLOW_NETWORKS" in str(raised.value)
    assert repr(bad) in str(raised.value)


# --- when a hook is written ----------------------------------------------------------------------

@pytest.mark.parametrize("uri", [
    "http://127.0.0.1:8080/hook",
    "http://0x7f.1/hook",
    "http://2130706433/hook",
    "HTTPS://LOCALHOST/hook",
    "http://[::1]:8080/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://169.254.169.254/latest/meta-data/",
    "http://user:pass@10.0.0.1/hook",
])
def test_hook_aimed_inside_the_network_is_refused_and_nothing_is_written(fake_redis, uri):
    account = _account(fake_redis)
    keys_before = set(fake_redis.keys("*"))

    with pytest.raises(ValidationError) as raised:
        hooks.create_hook(fake_redis, account.id, {"name": "n", "uri": uri, "hook": "all"})

    assert raised.value.field == "uri"
    assert raised.value.value == uri
    assert "HOOKPOOL_ALLOW_NETWORKS=" in str(raised.value)
    assert set(fake_redis.keys("*")) == keys_before


def test_hook_moved_inside_the_network_by_an_update_is_refused(fake_redis):
    account = _account(fake_redis)
    hook = hooks.create_hook(fake_redis, account.id, {"name": "n", "uri": "http://8.8.8.8/hook", "hook": "all"})

    with pytest.raises(ValidationError, match="loopback"):
        hooks.update_hook(fake_redis, hook.id, {"uri": "http://127.1/hook"})

    assert hooks.get_hook(fake_redis, hook.id).uri == "http://8.8.8.8/hook"


def test_loopback_hook_is_accepted_when_the_operator_allows_loopback(fake_redis, monkeypatch):
    monkeypatch.setenv("HOOKPOOL_ALLOW_NETWORKS", "127.0.0.0/8")
    account = _account(fake_redis)

    hook = hooks.create_hook(fake_redis, account.id, {"name": "n", "uri": "http://127.0.0.1:9/hook", "hook": "all"})

    assert hook.uri == "http://127.0.0.1:9/hook"
    with pytest.raises(ValidationError, match="private"):
        hooks.create_hook(fake_redis, account.id, {"name": "n", "uri": "http://10.0.0.1/hook", "hook": "all"})


def test_hook_whose_name_does_not_resolve_yet_is_accepted(fake_redis):
    account = _account(fake_redis)

    hook = hooks.create_hook(fake_redis, account.id, {"name": "n", "uri": "https://receiver.invalid/h", "hook": "all"})

    assert hook.uri == "https://receiver.invalid/h"


# --- when a delivery connects ---------------------------------------------------------------------

def test_delivery_to_a_name_resolving_to_loopback_is_blocked_before_any_connection(connections):
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]

    outcome = send(requests.Session(), _request(f"http://localhost:{port}/hook"))

    assert outcome.kind == "blocked"
    assert outcome.reason.startswith("localhost resolves to 127.0.0.1, which is loopback (127.0.0.0/8)")
    assert "HOOKPOOL_ALLOW_NETWORKS" in outcome.reason
    assert connections == []
    with pytest.raises(socket.timeout):
        listener.accept()  # nobody knocked
    listener.close()


def test_delivery_to_a_name_rebound_to_the_metadata_service_after_creation_is_blocked(
        fake_redis, fake_dns, connections):
    fake_dns["rebind.test"] = ["93.184.215.14"]
    account = _account(fake_redis)
    hook = hooks.create_hook(fake_redis, account.id,
                             {"name": "n", "uri": "http://rebind.test/latest/meta-data/", "hook": "all"})
    fake_dns["rebind.test"] = ["169.254.169.254"]

    outcome = send(jobs.http_session(), build_request(hook, {"hook_event": "all"}, new_id(), 1))

    assert outcome.kind == "blocked"
    assert "rebind.test resolves to 169.254.169.254, which is link-local" in outcome.reason
    assert connections == []


def test_delivery_connects_to_the_address_it_checked_without_resolving_again(fake_dns, connections, monkeypatch):
    monkeypatch.setenv("HOOKPOOL_ALLOW_NETWORKS", "127.0.0.0/8")
    answers = iter([["127.0.0.1"]])
    fake_dns["rebind.test"] = lambda: next(answers, ["169.254.169.254"])  # a second lookup gets the attack

    with _Receiver() as receiver:
        outcome = send(requests.Session(), _request(f"http://rebind.test:{receiver.port}/hook"))

    assert outcome.kind == "success"
    assert fake_dns.lookups["rebind.test"] == 1
    assert connections == [("127.0.0.1", receiver.port)]
    assert receiver.requests[0]["headers"]["Host"] == f"rebind.test:{receiver.port}"


def test_allowed_loopback_receiver_gets_the_delivery(monkeypatch):
    monkeypatch.setenv("HOOKPOOL_ALLOW_NETWORKS", "127.0.0.0/8")

    with _Receiver() as receiver:
        outcome = send(jobs.http_session(), _request(f"http://127.0.0.1:{receiver.port}/hook?kept=a%2Fb", "get"))

    assert outcome.kind == "success"
    assert receiver.requests[0]["path"].startswith("/hook?kept=a%2Fb&hook_event=channel_create")


def test_worker_session_keeps_its_connection_alive_across_deliveries(monkeypatch):
    monkeypatch.setenv("HOOKPOOL_ALLOW_NETWORKS", "127.0.0.0/8")
    session = jobs.http_session()

    with _Receiver() as receiver:
        first = send(session, _request(f"http://127.0.0.1:{receiver.port}/one"))
        second = send(session, _request(f"http://127.0.0.1:{receiver.port}/two"))

    assert (first.kind, second.kind) == ("success", "success")
    assert receiver.requests[0]["client_port"] == receiver.requests[1]["client_port"]
    assert isinstance(session.get_adapter("https://example.com/"), transport.CheckedAdapter)


def test_redirect_to_the_metadata_service_is_not_followed(monkeypatch, connections):
    monkeypatch.setenv("HOOKPOOL_ALLOW_NETWORKS", "127.0.0.0/8")
    metadata = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"

    with _Receiver(status=302, headers={"Location": metadata}) as receiver:
        outcome = send(requests.Session(), _request(f"http://127.0.0.1:{receiver.port}/hook"))

    assert outcome.kind == "redirect"
    assert metadata in outcome.reason
    assert len(receiver.requests) == 1
    assert connections == [("127.0.0.1", receiver.port)]


def test_delivery_through_a_proxy_is_blocked(monkeypatch):
    monkeypatch.setenv("HOOKPOOL_ALLOW_NETWORKS", "127.0.0.0/8")
    session = requests.Session()
    session.proxies = {"http": "http://127.0.0.1:9", "https": "http://127.0.0.1:9"}

    outcome = send(session, _request("http://8.8.8.8/hook"))

    assert outcome.kind == "blocked"
    assert "proxies" in outcome.reason


def test_unresolvable_name_still_fails_as_dns_when_delivering():
    outcome = send(requests.Session(), _request("http://receiver.invalid/hook"))

    assert outcome.kind == "dns"


def test_allowed_address_with_nothing_listening_still_fails_as_connection(monkeypatch):
    monkeypatch.setenv("HOOKPOOL_ALLOW_NETWORKS", "127.0.0.0/8")
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again before the delivery, so the port refuses

    outcome = send(requests.Session(), _request(f"http://127.0.0.1:{port}/hook"))

    assert outcome.kind == "connection"
    assert "127.0.0.1" in outcome.reason


def test_refused_destination_error_is_a_hookpool_error():
    with pytest.raises(HookpoolError):
        destinations.checked_addresses("127.0.0.1", 80, allowed=())


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for rebind.test: (certificate file, key file)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=rebind.test", "-addext", "subjectAltName=DNS:rebind.test",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


def test_https_delivery_checks_the_certificate_against_the_hook_host_not_the_address(
        monkeypatch, fake_dns, connections, certificate):
    monkeypatch.setenv("HOOKPOOL_ALLOW_NETWORKS", "127.0.0.0/8")
    fake_dns["rebind.test"] = ["127.0.0.1"]
    session = requests.Session()
    session.verify = certificate[0]

    with _Receiver(certificate=certificate) as receiver:
        by_name = send(session, _request(f"https://rebind.test:{receiver.port}/hook"))
        by_address = send(session, _request(f"https://127.0.0.1:{receiver.port}/hook"))

    assert by_name.kind == "success"
    assert connections[0] == ("127.0.0.1", receiver.port)
    assert by_address.kind == "tls"  # the certificate names rebind.test, not 127.0.0.1
    assert "127.0.0.1" in by_address.reason
