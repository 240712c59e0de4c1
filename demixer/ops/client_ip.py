"""The address a request came from, as the throttles count it."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

# an IPv6 client is usually handed a whole /64: counting single addresses would let it pick a
# new one for each request
IPV6_PREFIX = 64


def client_ip(request: HttpRequest) -> str:
    """``REMOTE_ADDR``; behind ``DEMIXER_TRUSTED_PROXIES`` reverse proxies, the address the
    outermost of them saw, read from the right of ``X-Forwarded-For``.

    The left of that header is whatever the client chose to send, so only the entries our own
    proxies appended are believed: counting from the right, one per proxy.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [part.strip() for part in header.split(",") if part.strip()]
    if not forwarded:
        return remote
    candidate = forwarded[-min(proxies, len(forwarded))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def client_network(request: HttpRequest) -> str:
    """What one client is counted as: its IPv4 address, or its IPv6 /64."""
    ip = client_ip(request)
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip or "unknown"  # e.g. a Unix socket: no address to tell clients apart
    if address.version == 6:
        return str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX}", strict=False))
    return ip
