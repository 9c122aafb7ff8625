"""What the suite knows about the server under test: its address and the limits it runs with.

A server may be configured with other limits than the protocol's defaults; the suite must be told
(``--max-participants`` and friends) rather than guess, so every figure a case relies on lives
here.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import attrs

from .registry import Profile


def _check_url(instance: SuiteOptions, attribute: attrs.Attribute[str], value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"expected ws://HOST:PORT or wss://HOST:PORT, got {value!r}")


@attrs.frozen
class SuiteOptions:
    """How to reach the server, how long a case may take, and which rules to hold it to."""

    url: str = attrs.field(validator=_check_url)
    #: Seconds one case may take before it fails (slow cases add the deadline they wait for).
    case_timeout: float = 10.0
    #: Which cases run: ``full`` (all of docs/protocol.md) or ``original`` (the seed's only).
    profile: Profile = Profile.FULL
    #: Run the cases that wait for the join and idle deadlines.
    slow: bool = False
    max_participants: int = 8
    max_message_bytes: int = 64 * 1024
    join_timeout: float = 10.0
    idle_timeout: float = 75.0
    #: How long a lost connection's seat stays away before its user-left (docs/protocol.md,
    #: "Away and resume"); cases that wait for that user-left allow for it.
    reconnect_grace: float = 10.0
    #: For wss://: accept any certificate (self-signed test servers).
    insecure: bool = False

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def host(self) -> str:
        host = urlsplit(self.url).hostname
        assert host is not None
        return host

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "wss" else 80)

    @property
    def base_path(self) -> str:
        """A path prefix in front of ``/ws-simple/`` (a server behind a proxy); usually empty."""
        return urlsplit(self.url).path.rstrip("/")

    def ws_path(self, room_id: str) -> str:
        return f"{self.base_path}/ws-simple/{room_id}"

    def ws_url(self, path: str) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}{path}"
