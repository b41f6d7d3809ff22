"""Where hooks may deliver: never into the operator's own network, unless allowed.

Tenants write hook URIs, but deliveries leave from inside the operator's
network. A hook aimed at 127.0.0.1, a 10.x address or the cloud metadata
service at 169.254.169.254 would let any tenant reach services that trust that
network (server-side request forgery). Such destinations are refused unless the
operator lists their network in HOOKPOOL_ALLOW_NETWORKS.

Decisions are made on addresses, never on how a URI spells them. A host is
resolved with getaddrinfo, exactly as the HTTP client resolves it, so 127.1,
0x7f.1, 2130706433 and 0177.0.0.1 all come out as 127.0.0.1, and a name is
judged by every address it resolves to. IPv6 addresses that stand for or tunnel
to an IPv4 address (::ffff:10.0.0.1, NAT64, 6to4, Teredo) are judged by that
IPv4 address as well.

Hook creation calls refusal_for_host to turn away a URI whose every address is
refused; the connection that delivers calls checked_addresses and connects only
to the allowed addresses it returned (see workers/transport.py), so DNS cannot
change its answer in between.
"""

import ipaddress
import socket
from dataclasses import dataclass

from .config import load_config
from .errors import DestinationRefused

# Address ranges hooks may not deliver into, each with the rule an operator is told.
_REFUSED_NETWORKS = tuple((ipaddress.ip_network(cidr), rule) for cidr, rule in (
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local, where cloud metadata services answer"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved for protocol assignments"),
    ("192.0.2.0/24", "reserved for documentation"),
    ("192.88.99.0/24", "reserved, once 6to4 relays"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "reserved for benchmarking"),
    ("198.51.100.0/24", "reserved for documentation"),
    ("203.0.113.0/24", "reserved for documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved, with the broadcast address"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "reserved for discarding"),
    ("2001:db8::/32", "reserved for documentation"),
    ("fc00::/7", "private (unique local)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local, deprecated"),
    ("ff00::/8", "multicast"),
))
# Every public IPv6 address lies in 2000::/3; outside it, only the forms that
# carry an IPv4 address are judged by that address rather than refused.
_IPV6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


@dataclass(frozen=True)
class Refusal:
    """Why one address a host resolves to may not be delivered to."""

    host: str
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    # The address the rule matched: address itself, or the IPv4 address it carries.
    matched: ipaddress.IPv4Address | ipaddress.IPv6Address
    rule: str

    def __str__(self):
        where = self.host
        if not _spells(self.host, self.address):
            where = f"{self.host} resolves to {self.address}, which"
        if self.matched != self.address:
            where = f"{where} carries {self.matched}, which"
        return f"{where} is {self.rule}"

    @property
    def how_to_allow(self):
        single = f"{str(self.matched).split('%')[0]}/{self.matched.max_prefixlen}"
        return ("hooks may not deliver into the operator's own network unless the operator allows it "
                f"with HOOKPOOL_ALLOW_NETWORKS (for this address alone: HOOKPOOL_ALLOW_NETWORKS={single})")


def allowed_networks():
    """The operator's allow list, read from the environment now, so a change needs no restart."""
    return load_config().allowed_networks


def refused_rule(address, allowed=()):
    """(matched address, rule) when hooks may not deliver to address, else None. Pure: no DNS."""
    address = ipaddress.ip_address(address)
    carried = _carried_ipv4(address)
    if _is_allowed(address, allowed) or (carried and _is_allowed(carried, allowed)):
        return None

    for judged in (address, carried):
        rule = _listed_rule(judged) if judged else None
        if rule:
            return judged, rule

    if address.version == 6 and carried is None and address not in _IPV6_GLOBAL_UNICAST:
        return address, f"outside IPv6 global unicast ({_IPV6_GLOBAL_UNICAST})"
    return None


def resolve(host, port=None):
    """Every address host resolves to, in getaddrinfo's order; raises socket.gaierror."""
    found = []
    for family, _, _, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        text = sockaddr[0]
        # A link-local IPv6 address is useless without its interface, which getaddrinfo gives apart.
        if family == socket.AF_INET6 and sockaddr[3] and "%" not in text:
            text = f"{text}%{sockaddr[3]}"
        address = ipaddress.ip_address(text)
        if address not in found:
            found.append(address)
    if not found:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} has no addresses")
    return found


def refusals(host, addresses, allowed=()):
    """A Refusal for each of addresses that hooks may not deliver to."""
    found = []
    for address in addresses:
        refused = refused_rule(address, allowed)
        if refused:
            found.append(Refusal(host, address, *refused))
    return found


def checked_addresses(host, port=None, allowed=None):
    """Resolve host and return the addresses hooks may deliver to: the only ones to connect to.

    Refused addresses are dropped, never tried: a name answering with a public
    and a private address reaches only the public one. Raises DestinationRefused
    when none is left, socket.gaierror when host does not resolve.
    """
    allowed = allowed_networks() if allowed is None else allowed
    addresses = resolve(host, port)
    refused = refusals(host, addresses, allowed)
    if len(refused) == len(addresses):
        raise DestinationRefused(_summary(refused) + ", and HOOKPOOL_ALLOW_NETWORKS does not allow it")
    refused_addresses = {r.address for r in refused}
    return [a for a in addresses if a not in refused_addresses]


def refusal_for_host(host, allowed=None):
    """A Refusal when every address of a hook URI's host is refused, else None.

    For checking a hook when it is written. A name that does not resolve now is
    let through: it may resolve later, and the check made when connecting is
    what protects.
    """
    allowed = allowed_networks() if allowed is None else allowed
    try:
        addresses = resolve(host)
    except (socket.gaierror, UnicodeError):
        return None
    refused = refusals(host, addresses, allowed)
    return refused[0] if len(refused) == len(addresses) else None


def _summary(refused):
    more = len(refused) - 1
    return str(refused[0]) + (f" (and {more} more refused address{'es' if more > 1 else ''})" if more else "")


def _carried_ipv4(address):
    """The IPv4 address an IPv6 address stands for or tunnels to, if any."""
    if address.version == 4:
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address in _NAT64 or address in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]  # (server, client): the client is where packets go
    return None


def _spells(host, address):
    """Whether host is address in its usual spelling, so that saying what it resolves to adds nothing."""
    try:
        return ipaddress.ip_address(host) == address
    except ValueError:
        return False


def _is_allowed(address, allowed):
    return any(address in network for network in allowed)


def _listed_rule(address):
    for network, rule in _REFUSED_NETWORKS:
        if address in network:
            return f"{rule} ({network})"
    return None
