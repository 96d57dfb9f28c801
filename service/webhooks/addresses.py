"""Where a webhook may point: only http and https URLs whose host resolves to public addresses, so that a
subscription cannot make the service post to itself, to the machines around it or to a cloud's metadata
endpoint (server-side request forgery). Private, loopback, link-local, multicast and reserved addresses
are refused unless WEBHOOK_ALLOW_PRIVATE is set (a receiver on the same network, the tests' loopback).

The check runs when a subscription is made and again before every delivery, since a name can resolve
elsewhere by then; a delivery then connects to the very address it checked (`Destination.address`),
so the name cannot be switched between the check and the connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

MAX_URL_LENGTH = 2000
SCHEMES = ("http", "https")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeDestination(ValueError):
    """A webhook URL the service will not post to; the message says why, for the `url` field."""


def check_url_form(url: str) -> httpx.URL:
    """`url` parsed, if its form can be a webhook's: http or https, a host, no credentials."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeDestination(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise UnsafeDestination(f"not a URL: {error}") from None
    if parsed.scheme not in SCHEMES:
        given = f"{parsed.scheme}:" if parsed.scheme else "a relative URL"
        raise UnsafeDestination(f"only http and https URLs are accepted, not {given}")
    if not parsed.host:
        raise UnsafeDestination("the URL names no host")
    if parsed.userinfo:
        raise UnsafeDestination("the URL carries credentials; deliveries are authenticated by their signature")
    if parsed.fragment:
        raise UnsafeDestination("the URL has a fragment (#...), which is never sent to a server")
    return parsed


def refusal(address: IPAddress) -> str | None:
    """Why deliveries may not go to `address`, or None for a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 reaches 127.0.0.1
    for kind, flagged in (
        ("the unspecified address", address.is_unspecified),
        ("a loopback address", address.is_loopback),
        ("a link-local address", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("a private address", address.is_private),
        ("a reserved address", address.is_reserved),
        ("not a public address", not address.is_global),
    ):
        if flagged:
            return kind
    return None


@dataclass(frozen=True)
class Destination:
    """A webhook URL and the address, checked, that a delivery connects to."""

    url: httpx.URL
    address: str

    def pinned(self) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
        """(URL with the checked address as its host, headers, request extensions): the request still names
        the host (`Host`, and TLS's SNI and certificate check) while the socket goes to the checked address."""
        host = self.url.host
        netloc = self.url.netloc.decode("ascii")
        extensions = {"sni_hostname": host} if self.url.scheme == "https" else {}
        return self.url.copy_with(host=self.address), {"Host": netloc}, extensions


async def resolve(url: str, *, allow_private: bool, timeout_s: float) -> Destination:
    """`url` checked (form and every address its host resolves to) with the address to connect to.

    Every address must pass: a name that resolves to a public and a private address is refused, since
    which one a connection would use is not ours to choose.
    """
    parsed = check_url_form(url)
    addresses = await _addresses(parsed, timeout_s)
    if not allow_private:
        for address in addresses:
            reason = refusal(address)
            if reason is not None:
                shown = parsed.host if _literal(parsed.host) else f"{parsed.host} resolves to {address}"
                raise UnsafeDestination(
                    f"{shown}, {reason}; webhooks go to public addresses only (WEBHOOK_ALLOW_PRIVATE=true allows it)"
                )
    return Destination(parsed, str(addresses[0]))


def _literal(host: str) -> IPAddress | None:
    """The address `host` spells, or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def _addresses(url: httpx.URL, timeout_s: float) -> list[IPAddress]:
    literal = _literal(url.host)
    if literal is not None:
        return [literal]
    port = url.port or (443 if url.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    try:
        found = await asyncio.wait_for(
            loop.getaddrinfo(url.host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP), timeout_s
        )
    except TimeoutError:
        raise UnsafeDestination(f"{url.host} did not resolve within {timeout_s:g} s") from None
    except (OSError, ValueError) as error:  # ValueError: a name the resolver cannot encode (IDNA)
        raise UnsafeDestination(f"{url.host} does not resolve: {error}") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found))
    if not addresses:
        raise UnsafeDestination(f"{url.host} resolves to no address")
    return addresses
