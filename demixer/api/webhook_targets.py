"""Where a webhook may go: the URL's form and, after one DNS resolution, every address its host
has. Checked when a token is created and again before each delivery (a name's addresses change).

Refused unless the operator allows them (``DEMIXER_WEBHOOK_ALLOW``: host names and CIDRs):
anything but http(s); credentials in the URL; ports other than 80, 443 and 1024-65535; and any
address that is not public unicast: loopback, private (RFC 1918, ULA), link-local (cloud metadata
at 169.254.169.254 among them), CGNAT, multicast, reserved, unspecified, and those same addresses
wrapped in IPv6 (IPv4-mapped, NAT64, 6to4, Teredo). The delivery then connects to the addresses
checked here, never to a second resolution (no DNS-rebinding window).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = {"http": 80, "https": 443}
LOW_PORTS = {80, 443}  # below 1024 only these: the rest are other services' (SSH, SMTP, ...)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix: a v4 address in its low bits
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d


class WebhookRefused(ValueError):
    """A webhook URL this server will not send to; the message is one sentence for the user."""


@dataclass(frozen=True)
class Target:
    """A checked webhook URL: where to connect (``addresses``, each allowed) and what to say
    there (``host`` for the Host header, SNI and the certificate; ``path`` with its query)."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def check(url: str) -> Target:
    """The URL's target, resolved once and every address checked; raises ``WebhookRefused``."""
    scheme, host, port, path = _parts(url)
    addresses = _resolve(host, port)
    if not _host_allowed(host):
        for address in addresses:
            if reason := refusal(ipaddress.ip_address(address)):
                shown = host if host == address else f"{host} ({address})"
                raise WebhookRefused(f"Webhooks cannot go to {shown}: {reason}.")
    return Target(scheme, host, port, path, tuple(addresses))


def _parts(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise WebhookRefused("The webhook URL is not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise WebhookRefused("A webhook URL must start with http:// or https://.")
    if parts.username is not None or parts.password is not None:
        raise WebhookRefused("A webhook URL cannot carry a user name or password.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise WebhookRefused("The webhook URL has no host.")
    port = SCHEMES[scheme] if port is None else port
    if not (port in LOW_PORTS or 1024 <= port <= 65535):
        raise WebhookRefused(f"Webhooks go to ports 80, 443 or 1024-65535, not {port}.")
    path = parts.path or "/"
    return scheme, host, port, f"{path}?{parts.query}" if parts.query else path


def _resolve(host: str, port: int) -> list[str]:
    """Every address of ``host`` (in the resolver's order, no repeats); an IP literal is itself."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise WebhookRefused(f"The webhook host {host} cannot be resolved.") from None
    addresses = [str(info[4][0]).partition("%")[0] for info in infos]  # no IPv6 zone
    if not addresses:
        raise WebhookRefused(f"The webhook host {host} cannot be resolved.")
    return list(dict.fromkeys(addresses))


def refusal(ip: IPAddress) -> str | None:
    """Why a webhook may not go to ``ip`` (None: it may), the allow list counted."""
    if any(ip in network for network in _allowed()[1]):
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if (inner := _embedded_ipv4(ip)) is not None:
            if any(inner in network for network in _allowed()[1]):
                return None
            if reason := _not_public(inner):
                return f"{reason} (inside an IPv6 address)"
            return None if ip.ipv4_mapped or ip in NAT64 else _not_public(ip)
        if ip in IPV4_COMPATIBLE:
            return "a reserved address"
    return _not_public(ip)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one leads to: mapped, NAT64, 6to4 or a Teredo client."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def _not_public(ip: IPAddress) -> str | None:
    # ipaddress' is_global alone is not enough: multicast counts as global there
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip in CGNAT:
        return "a shared (CGNAT) address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved address"
    return None


def _host_allowed(host: str) -> bool:
    return host.lower() in _allowed()[0]


def _allowed() -> tuple[frozenset[str], tuple[Network, ...]]:
    """``DEMIXER_WEBHOOK_ALLOW``, parsed: (host names, networks)."""
    return _parse_allow(tuple(settings.WEBHOOK_ALLOW))


@lru_cache(maxsize=4)
def _parse_allow(entries: tuple[str, ...]) -> tuple[frozenset[str], tuple[Network, ...]]:
    names, networks = set(), []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            if "/" in entry or ":" in entry:
                raise ImproperlyConfigured(
                    f"DEMIXER_WEBHOOK_ALLOW: {entry!r} is neither a host name nor a CIDR"
                ) from None
            names.add(entry.lower().rstrip("."))
    return frozenset(names), tuple(networks)
