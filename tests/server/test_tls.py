"""wss:// and https:// with --certfile/--keyfile (a throwaway self-signed certificate)."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
from pathlib import Path

import trio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from trio_websocket import open_websocket_url

from trio_server import ServerConfig

from .conftest import join, recv, send
from .serving import WAIT, running_server


def make_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return certfile, keyfile


def tls_server_config(directory: Path) -> tuple[ServerConfig, ssl.SSLContext]:
    """A server configuration with a fresh self-signed certificate, and a client context
    that trusts it."""
    certfile, keyfile = make_certificate(directory)
    client_context = ssl.create_default_context(cafile=str(certfile))
    return ServerConfig(port=0, certfile=str(certfile), keyfile=str(keyfile)), client_context


async def test_wss_and_https(tmp_path: Path) -> None:
    config, client_context = tls_server_config(tmp_path)
    async with running_server(config) as server:
        base = f"wss://127.0.0.1:{server.port}/ws-simple/secure"
        async with open_websocket_url(base, ssl_context=client_context,
                                      connect_timeout=WAIT) as coach, \
                open_websocket_url(base, ssl_context=client_context,
                                   connect_timeout=WAIT) as client:
            await join(coach, "coach", "coach")
            await join(client, "client", "client")
            await recv(coach)
            await send(coach, {"type": "offer", "toId": "client", "offer": {"sdp": "s" * 5000}})
            assert (await recv(client))["offer"]["sdp"] == "s" * 5000

        with trio.fail_after(WAIT):
            stream = await trio.open_ssl_over_tcp_stream("127.0.0.1", server.port,
                                                         ssl_context=client_context)
            await stream.send_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            try:
                while chunk := await stream.receive_some(4096):
                    data += chunk
            except trio.BrokenResourceError:
                pass  # the server closes without close_notify
            await stream.aclose()
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert json.loads(body)["status"] == "ok"
