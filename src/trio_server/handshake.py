"""The pieces of an HTTP/1.1 exchange, with no policy of their own; :mod:`.http_front` uses them.

A request head from h11 becomes an :class:`~.http.HttpRequest`; a WebSocket upgrade request is
checked against RFC 6455 §4.2.1 (method, headers, version, key, a valid ``/ws-simple/{roomId}``
path) and yields either an :class:`Upgrade` with its accept key or the 4xx to answer; responses
are encoded for h11 or as raw bytes (the 101, and refusals written without an h11 state).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from urllib.parse import parse_qsl, unquote

import attrs
import h11

from signaling_core import is_valid_room_id

from .http import HttpRequest, HttpResponse, text_response
from .transport import Transport

WS_PREFIX = "/ws-simple/"
_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_REASONS = {
    101: "Switching Protocols", 200: "OK", 204: "No Content", 301: "Moved Permanently",
    302: "Found", 304: "Not Modified", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
    413: "Content Too Large", 426: "Upgrade Required", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
}


@attrs.frozen
class Upgrade:
    """An accepted WebSocket handshake for ``room_id``."""

    room_id: str
    accept: bytes


def parse_request(event: h11.Request, client: str = "") -> HttpRequest:
    """The request head as an :class:`HttpRequest`; ``client`` is the peer's address."""
    target = event.target.decode("latin-1")
    raw_path, _, raw_query = target.partition("?")
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in event.headers}
    return HttpRequest(
        method=event.method.decode("latin-1"),
        path=unquote(raw_path),
        query=dict(parse_qsl(raw_query, keep_blank_values=True)),
        headers=headers,
        client=client,
    )


def _tokens(value: str) -> set[str]:
    return {token.strip().lower() for token in value.split(",")}


def wants_websocket(request: HttpRequest) -> bool:
    return "websocket" in _tokens(request.headers.get("upgrade", ""))


def check_upgrade(request: HttpRequest) -> Upgrade | HttpResponse:
    """Accept the handshake, or say (4xx and a reason) why not."""
    if not request.path.startswith(WS_PREFIX):
        return text_response(404, "not found")
    room_id = request.path[len(WS_PREFIX):]
    if not is_valid_room_id(room_id):
        return text_response(400, "invalid room id: use 1-128 characters of A-Z a-z 0-9 _ . ~ -")
    if request.method != "GET":
        return text_response(405, "method not allowed", {"Allow": "GET"})
    headers = request.headers
    if "upgrade" not in _tokens(headers.get("connection", "")):
        return text_response(400, "bad websocket handshake: Connection must include Upgrade")
    if headers.get("sec-websocket-version", "").strip() != "13":
        return text_response(426, "unsupported websocket version",
                             {"Sec-WebSocket-Version": "13"})
    key = headers.get("sec-websocket-key", "").strip()
    try:
        valid_key = len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        valid_key = False
    if not valid_key:
        return text_response(400, "bad websocket handshake: invalid Sec-WebSocket-Key")
    accept = base64.b64encode(hashlib.sha1(key.encode("ascii") + _WS_GUID).digest())
    return Upgrade(room_id, accept)


def switching_protocols(upgrade: Upgrade) -> bytes:
    return (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + upgrade.accept + b"\r\n\r\n")


def raw_response(response: HttpResponse, *, head_only: bool = False) -> bytes:
    """A complete response that ends the connection (used where h11 is not in charge)."""
    lines = [f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Error')}",
             f"Content-Type: {response.content_type}",
             f"Content-Length: {len(response.body)}",
             "Connection: close"]
    lines.extend(f"{name}: {value}" for name, value in response.headers.items())
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + response.body


def h11_response(response: HttpResponse, *, close: bool) -> h11.Response:
    headers = [("Content-Type", response.content_type),
               ("Content-Length", str(len(response.body)))]
    headers.extend(response.headers.items())
    if close:
        headers.append(("Connection", "close"))
    return h11.Response(status_code=response.status, headers=headers,
                        reason=_REASONS.get(response.status, "").encode("latin-1"))


async def send_all(transport: Transport, data: bytes) -> None:
    view = memoryview(data)
    while view:
        sent = await transport.send(view)
        view = view[sent:]
