"""Which web pages may open a WebSocket here: the ``Origin`` check of the upgrade.

A browser lets any page open a WebSocket to any server and attaches that page's origin; the
server is the only place to refuse a foreign page (cross-site WebSocket hijacking). Clients
that are not browsers (the orb worker, tools) send no ``Origin`` and are not the threat this
check addresses, so they pass. Without ``--allowed-origin`` the server's own origin passes
(what its call page needs); with it, exactly the listed origins do (``*``: any), so a page
whose host name merely resolves to this server (DNS rebinding) is not taken for its own.
"""

from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
ANY = "*"
NULL = "null"


def normalize_origin(text: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port, or None if not one.

    ``*`` and ``null`` (sandboxed frames, ``file:`` pages) are kept as they are, so that an
    operator can list them on purpose.
    """
    text = text.strip()
    if text in (ANY, NULL):
        return text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if (not scheme or not host or parts.username is not None or parts.password is not None
            or parts.path not in ("", "/") or parts.query or parts.fragment):
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def normalize_origins(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The configured origins, normalized; a value that is not an origin is an error."""
    out = []
    for value in values:
        origin = normalize_origin(value)
        if origin is None:
            raise ValueError(f"not an origin (scheme://host[:port]): {value!r}")
        out.append(origin)
    return tuple(out)


def origin_allowed(origin: str | None, host: str | None, *, allowed: tuple[str, ...],
                   tls: bool) -> bool:
    """Whether a handshake with this ``Origin`` (None: absent) and ``Host`` may proceed.

    ``allowed`` holds normalized origins. When it is empty, the server's own origin passes:
    ``https://HOST`` when the server serves TLS itself, ``http://HOST`` or ``https://HOST``
    when it does not (a TLS-terminating proxy in front that keeps the Host header).
    """
    if origin is None:
        return True
    if ANY in allowed:
        return True
    normalized = normalize_origin(origin)
    if normalized is None or normalized == ANY:
        return False
    if allowed:
        return normalized in allowed
    if not host or normalized == NULL:
        return False
    for scheme in ("https",) if tls else ("http", "https"):
        if normalize_origin(f"{scheme}://{host.strip()}") == normalized:
            return True
    return False
