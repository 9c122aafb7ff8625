"""The history through a real ``trio-server`` process: without ``--admin-token`` it prints a
login URL whose token (in the fragment) logs in; the cookie it sets opens the list over
plain HTTP; with no credential, or with the token in the query string, nothing is shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import trio

from .test_cli_server import _stop

CLI = [sys.executable, "-m", "trio_server.cli"]


async def request(port: int, method: str, path: str, headers: dict[str, str]
                  ) -> tuple[int, dict[str, str], bytes]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    async with stream:
        await stream.send_all(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{lines}"
                              "Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
        data = b""
        with trio.fail_after(10):
            while chunk := await stream.receive_some():
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    got = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), got, body


async def test_the_printed_login_url_opens_the_history(tmp_path: Path) -> None:
    proc = await trio.lowlevel.open_process(
        [*CLI, "--port", "0", "--log-level", "info", "--db", str(tmp_path / "l.sqlite3")],
        stderr=subprocess.PIPE)
    assert proc.stderr is not None
    try:
        log = b""
        with trio.fail_after(30):
            while b"#token=" not in log or not log.rstrip(b" ").endswith(b"\n"):
                chunk = await proc.stderr.receive_some()
                assert chunk, log.decode(errors="replace")
                log += chunk
        url = log.split(b"Session history: ")[1].split(b"\n")[0].decode()
        assert url.startswith("http://127.0.0.1:") and "/history#token=" in url
        port = int(url.split(":")[2].split("/")[0])
        token = url.split("#token=")[1]
        status, _, body = await request(port, "GET", "/api/history/sessions", {})
        assert status == 401 and b"sessions" not in body
        status, _, _ = await request(port, "GET", f"/api/history/sessions?token={token}", {})
        assert status == 400
        status, headers, _ = await request(port, "POST", "/api/history/login",
                                           {"Authorization": f"Bearer {token}",
                                            "Origin": f"http://127.0.0.1:{port}"})
        assert status == 200
        cookie = headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        status, _, body = await request(port, "GET", "/api/history/sessions",
                                        {"Cookie": cookie.split(";")[0]})
        assert status == 200 and orjson.loads(body)["sessions"] == []
        status, headers, body = await request(port, "GET", "/history", {})
        assert status == 200 and b"history.js" in body
        assert "content-security-policy" in headers
        # The generated token does not open the admin API: that keeps its own rule.
        status, _, _ = await request(port, "GET", "/api/sessions/x",
                                     {"Authorization": f"Bearer {token}"})
        assert status == 403
    finally:
        await _stop(proc)
