"""The SSRF guard of outgoing requests (webhooks): no loopback, link-local, private, metadata or otherwise
non-public address unless MOMENTI_WEBHOOK_ALLOW_HOSTS names the host.

The host is resolved and *every* address it resolves to must be public, so a name that points inside the
network is refused as its address would be. It is checked when an endpoint is added and again before each
attempt (a DNS answer can change); redirects are never followed by the sender, so a public endpoint cannot
bounce a delivery inward. What remains is the window between this check and the connection (DNS rebinding
within seconds): accepted, and the reason delivery payloads carry ids only.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from momenti.core.errors import InputError

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})


def allow_list(setting: str) -> frozenset[str]:
    return frozenset(h.strip().lower().strip("[]") for h in (setting or "").split(",") if h.strip())


def _refused(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for test, why in ((ip.is_loopback, "loopback"), (ip.is_link_local, "link-local (cloud metadata)"),
                      (ip.is_private, "private"), (ip.is_multicast, "multicast"), (ip.is_reserved, "reserved"),
                      (ip.is_unspecified, "unspecified")):
        if test:
            return why
    if not ip.is_global:
        return "not a public address"
    return None


def check_url(url: str, allow: frozenset[str], resolve: bool = True) -> str:
    """The URL if momenti may send to it; InputError saying why not otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise InputError(f"webhook URL {url!r}: http:// or https:// only")
    host = (parts.hostname or "").lower()
    if not host:
        raise InputError(f"webhook URL {url!r}: no host")
    if parts.username or parts.password:
        raise InputError("webhook URL: no user or password in the URL (the signature authenticates momenti)")
    if host in allow:
        return url.strip()
    if host in METADATA_HOSTS or host.endswith(".internal"):
        raise InputError(f"webhook URL {url!r}: {host} is a metadata host (MOMENTI_WEBHOOK_ALLOW_HOSTS exempts a host)")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        if not resolve:
            return url.strip()
        try:
            infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80),
                                       type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise InputError(f"webhook URL {url!r}: {host} does not resolve ({exc})") from None
        addresses = [ipaddress.ip_address(i[4][0].split("%", 1)[0]) for i in infos]
    for ip in addresses:
        why = _refused(ip)
        if why:
            raise InputError(f"webhook URL {url!r}: {host} is {ip}, a {why} address; refused to prevent "
                             "server-side request forgery (MOMENTI_WEBHOOK_ALLOW_HOSTS exempts a host)")
    return url.strip()
