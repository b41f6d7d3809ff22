"""A requests transport whose connections go only to addresses destinations.py allowed.

Checking a hook's host and then letting requests connect would resolve the
name twice, and DNS may answer differently the second time (DNS rebinding: a
public address for the check, 127.0.0.1 for the connection). So the check lives
inside the connection itself: it resolves the host once, drops refused
addresses, and opens its socket to one of the addresses that were checked. The
connection keeps the hook's host name, so the Host header, TLS SNI and the
certificate check all still use that name.

Keep-alive connections are checked once, when opened; later requests on them
go to the same checked address.

The pools also send each request target exactly as given. urllib3 normalises
targets (upper-cases percent-escapes, escapes [ ] | { } and the like), which
would break the promise that a hook's own query string arrives byte-exact.
"""

import contextvars
import socket

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from .. import destinations
from ..errors import DestinationRefused


class _CheckedConnect:
    """Replaces urllib3's _new_conn, the single place its connections resolve and connect."""

    def _new_conn(self):
        # _dns_host is the name as urllib3 itself would resolve it (an FQDN's trailing dot kept).
        try:
            addresses = destinations.checked_addresses(self._dns_host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        return self._connect_to_first(addresses)

    def _connect_to_first(self, addresses):
        """Try the checked addresses in resolver order, as urllib3 would try them all."""
        error = None
        for address in addresses:
            try:
                return urllib3_connection.create_connection(
                    (str(address), self.port), self.timeout,
                    source_address=self.source_address, socket_options=self.socket_options,
                )
            except socket.timeout:
                error = ConnectTimeoutError(
                    self, f"Connection to {self.host} ({address}) timed out. (connect timeout={self.timeout})")
            except OSError as exc:
                error = NewConnectionError(self, f"Failed to establish a new connection to {address}: {exc}")
        raise error


class CheckedHTTPConnection(_CheckedConnect, HTTPConnection):
    pass


class CheckedHTTPSConnection(_CheckedConnect, HTTPSConnection):
    pass


# The target urlopen was given, before urllib3 rewrote it; read back in _make_request.
_given_target = contextvars.ContextVar("given_target", default=None)


class _ExactTarget:
    """Sends the request target urlopen was given, not urllib3's normalised copy of it.

    Hook URIs were checked for spaces and control characters when they were
    written, so what is sent is still a valid request line.
    """

    def urlopen(self, method, url, *args, **kwargs):
        token = _given_target.set(url)
        try:
            return super().urlopen(method, url, *args, **kwargs)
        finally:
            _given_target.reset(token)

    def _make_request(self, conn, method, url, *args, **kwargs):
        return super()._make_request(conn, method, _given_target.get() or url, *args, **kwargs)


class _CheckedHTTPPool(_ExactTarget, HTTPConnectionPool):
    ConnectionCls = CheckedHTTPConnection


class _CheckedHTTPSPool(_ExactTarget, HTTPSConnectionPool):
    ConnectionCls = CheckedHTTPSConnection


class CheckedAdapter(HTTPAdapter):
    """requests' usual adapter, with pools whose connections check their destination."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        # A proxy would make the connection to the destination itself, unchecked.
        raise DestinationRefused(f"deliveries do not go through proxies ({proxy} was configured)")


def guard(session):
    """Mount CheckedAdapter on session for http and https, unless it already is; returns session."""
    # Proxies named in the environment would otherwise be refused at every delivery.
    session.trust_env = False
    for prefix in ("http://", "https://"):
        if not isinstance(session.adapters.get(prefix), CheckedAdapter):
            session.mount(prefix, CheckedAdapter())
    return session
