"""What the ``Received`` trace says: the sender's public IP and when the mail arrived.

Each relay a message passes through adds a ``Received`` header on top, so the headers
read bottom-up are the path from the sender to the mailbox. The first public address
in the ``from`` clauses on that path is the first host outside the sender's own
network: its ISP's address, or its mail server's — the IP a mail platform attributes
the message to. Private, loopback, link-local, shared (CGNAT), documentation,
multicast and other reserved addresses are skipped, since many unrelated senders share
them. Within one clause the address the receiving relay saw (``[1.2.3.4]``, or
qmail's ``(1.2.3.4)``) comes before one the sender claimed (``HELO``, host names).

The bottom headers are written by hosts the sender controls and can be forged; the
address still counts as evidence, never as proof, which is how the graph uses IPs.
"""

from __future__ import annotations

import email.utils
import ipaddress
import re
from collections.abc import Sequence
from datetime import UTC, datetime

__all__ = ["first_public_ip", "received_time"]

# The "from" clause: after "from", up to the "by" (or "with"/"id"/"for"/";") clause.
_FROM_CLAUSE = re.compile(
    r"^\s*from\s+(?P<clause>.*?)(?:\s(?:by|with|id|for|via)\s|;|$)", re.IGNORECASE | re.DOTALL
)
_BRACKETED = re.compile(r"\[([^\[\]]*)\]")  # "[1.2.3.4]": what Sendmail and Postfix saw
_PARENTHESISED = re.compile(r"\(([^()]*)\)")  # "(1.2.3.4)": qmail; "(HELO x)" is claimed
_CLAIMED = re.compile(r"^\s*(?:HELO|EHLO)\b", re.IGNORECASE)
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:.])(?:IPv6:)?((?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]*)(?![\w:])")


def _addresses(text: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """IP addresses written in ``text``, in order; IPv4-mapped IPv6 as IPv4."""
    found: list[tuple[int, str]] = [(m.start(), m.group(1)) for m in _IPV4.finditer(text)]
    found += [(m.start(), m.group(1)) for m in _IPV6.finditer(text)]
    out: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for _, candidate in sorted(found):
        try:
            ip = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        out.append(ip)
    return out


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast (not private, loopback, reserved, shared or multicast)."""
    return ip.is_global and not ip.is_multicast


def _clause_ips(header: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Addresses of one header's ``from`` clause: those the relay saw first, then the rest."""
    match = _FROM_CLAUSE.match(header)
    if match is None:
        return []
    clause = match.group("clause")
    seen = [ip for part in _BRACKETED.findall(clause) for ip in _addresses(part)]
    seen += [
        ip
        for part in _PARENTHESISED.findall(clause)
        if not _CLAIMED.match(part)
        for ip in _addresses(part)
    ]
    ordered = dict.fromkeys(seen + _addresses(clause))
    return list(ordered)


def first_public_ip(received: Sequence[str]) -> str | None:
    """The first public IP on the path from the sender, or None.

    Args:
        received: The ``Received`` header values in header order (newest first),
            unfolded.
    """
    for header in reversed(received):
        for ip in _clause_ips(header):
            if _is_public(ip):
                return str(ip)
    return None


def received_time(header: str) -> datetime | None:
    """The time stamp after the last ``;`` of a ``Received`` header, in UTC, or None."""
    _, semicolon, stamp = header.rpartition(";")
    if not semicolon:
        return None
    try:
        when = email.utils.parsedate_to_datetime(stamp.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": UTC with no information about the local zone
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
