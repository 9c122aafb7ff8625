"""The real client address behind a load balancer: the PROXY protocol (v1 and v2), trusted
proxies only.

Behind HAProxy every TCP connection comes from the proxy, so per-address caps, rate limits
and the admin gate's loopback rule would all see one address. HAProxy's ``send-proxy`` /
``send-proxy-v2`` puts the client's address in front of the connection's first bytes; this
module reads it, and only from peers in ``--trusted-proxy`` networks. Anyone else's bytes are
never parsed as a PROXY header: a forged line is simply a malformed HTTP request (400), and
the connection is counted under the address it really comes from.

The reading peeks at the socket and consumes exactly the header's bytes, so what follows it
(the HTTP request, or a TLS ClientHello) stays in the kernel for the transport, plain or TLS.
Parsing is pure (:func:`parse`); only :func:`read_header` touches a socket.

A trusted peer may also connect without a header (an operator's curl on the proxy host, a
health check without ``check-send-proxy``): it is then served under its own address.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterable

import attrs
import trio

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V1_PREFIX = b"PROXY "
#: The longest v1 line the specification allows, CRLF included.
V1_MAX = 107
#: v2 headers longer than this (addresses plus TLVs) are refused; HAProxy's are far shorter.
V2_MAX_BODY = 1024
#: While a header has arrived only in part, look again this often (bounded by the caller).
_PARTIAL_POLL = 0.005

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ProxyHeaderError(ValueError):
    """A trusted peer sent a PROXY header that is malformed: the connection is closed."""


@attrs.frozen
class ProxiedAddress:
    """The client a trusted proxy speaks for; ``None`` host: the proxy's own connection
    (v2 ``LOCAL``, v1 ``UNKNOWN``, e.g. a health check)."""

    host: str | None
    port: int = 0


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """``--trusted-proxy`` values as networks (a bare address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(text.strip(), strict=False) for text in cidrs)


def is_trusted(host: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks)


def header_length(data: bytes) -> int | None:
    """Bytes of the PROXY header that ``data`` starts with: 0 when it starts with none,
    None when more bytes are needed to tell. Raises :class:`ProxyHeaderError`."""
    if data.startswith(V2_SIGNATURE):
        if len(data) < 16:
            return None
        length: int = struct.unpack("!H", data[14:16])[0]
        if length > V2_MAX_BODY:
            raise ProxyHeaderError("PROXY v2 header too long")
        return 16 + length
    if data.startswith(V1_PREFIX):
        end = data.find(b"\r\n", 0, V1_MAX)
        if end >= 0:
            return end + 2
        if len(data) >= V1_MAX:
            raise ProxyHeaderError("PROXY v1 line too long")
        return None
    if V2_SIGNATURE.startswith(data) or V1_PREFIX.startswith(data):
        return None  # a prefix of a signature (or nothing yet): wait for more
    return 0


def parse(header: bytes) -> ProxiedAddress:
    """The client named by one complete header (as measured by :func:`header_length`)."""
    if header.startswith(V2_SIGNATURE):
        return _parse_v2(header)
    return _parse_v1(header)


def _parse_v1(header: bytes) -> ProxiedAddress:
    try:
        parts = header[:-2].decode("ascii").split(" ")
    except UnicodeDecodeError:
        raise ProxyHeaderError("PROXY v1 line is not ASCII") from None
    if len(parts) >= 2 and parts[1] == "UNKNOWN":
        return ProxiedAddress(None)
    if len(parts) != 6 or parts[1] not in ("TCP4", "TCP6"):
        raise ProxyHeaderError("malformed PROXY v1 line")
    try:
        ip = ipaddress.ip_address(parts[2])
        port = int(parts[4])
    except ValueError:
        raise ProxyHeaderError("malformed PROXY v1 address") from None
    if ip.version != (4 if parts[1] == "TCP4" else 6) or not 0 <= port <= 65535:
        raise ProxyHeaderError("malformed PROXY v1 address")
    return ProxiedAddress(str(ip), port)


def _parse_v2(header: bytes) -> ProxiedAddress:
    version, command = header[12] >> 4, header[12] & 0x0F
    if version != 2 or command > 1:
        raise ProxyHeaderError("unsupported PROXY v2 version or command")
    if command == 0:  # LOCAL: the proxy's own connection (health checks)
        return ProxiedAddress(None)
    family, body = header[13] >> 4, header[16:]
    if family == 1 and len(body) >= 12:
        return ProxiedAddress(str(ipaddress.IPv4Address(body[0:4])),
                              struct.unpack("!H", body[8:10])[0])
    if family == 2 and len(body) >= 36:
        return ProxiedAddress(str(ipaddress.IPv6Address(body[0:16])),
                              struct.unpack("!H", body[32:34])[0])
    if family == 0:
        return ProxiedAddress(None)
    raise ProxyHeaderError("unsupported PROXY v2 address family")


async def read_header(sock: socket.socket) -> ProxiedAddress | None:
    """Consume the PROXY header at the start of ``sock``: the client it names, or None when
    the connection starts with anything else (nothing is consumed then).

    Raises :class:`ProxyHeaderError` (malformed) or ``ConnectionError`` (closed first). The
    caller bounds the wait: a peer that sends half a header and stops is its problem.
    """
    while True:
        await trio.lowlevel.wait_readable(sock)
        try:
            data = sock.recv(16 + V2_MAX_BODY, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            continue
        if not data:
            raise ConnectionError("closed before its first byte")
        length = header_length(data)
        if length == 0:
            return None
        if length is not None and len(data) >= length:
            header = b""
            while len(header) < length:  # the bytes are there: recv returns at once
                chunk = sock.recv(length - len(header))
                if not chunk:
                    raise ConnectionError("closed inside the PROXY header")
                header += chunk
            return parse(header)
        # Part of a header: the socket stays readable, so poll instead of a busy wait.
        await trio.sleep(_PARTIAL_POLL)
