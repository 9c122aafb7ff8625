"""A real ``trio-server`` subprocess and a real Chromium, for the end-to-end tests and the bench.

Everything here waits with a deadline: a server that never says where it listens, a page that
never connects, a predicate that never holds, all end in an error that says what was awaited.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlencode

from playwright.sync_api import Browser, Page, Playwright

from testkit.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: ``trio-server --orbs`` options for a test whose orb must join, carry media and show its status
#: but never has to understand or say a sentence: no Whisper model, and espeak-ng instead of
#: Piper, so the server's background warm-up (orb_bridge.warm_up) loads neither. That load
#: costs ~4.5 s of CPU per server (onnx, Piper's voice, CTranslate2's Whisper; ~0.5 s without
#: them, measured), taken from the pages and the orb on CI's 2 cores. The default voice and
#: speech-to-text stay tested through the server by the tests that speak (test_orb_mode,
#: test_transcript_panel, test_coach_record, tests/orb/*_live.py, test_voice_call).
SPEECHLESS_ORB = ("--orb-stt-model", "off", "--orb-voice", "espeak")
_LISTENING = re.compile(r"listening on (https?://127\.0\.0\.1:(\d+))")

T = TypeVar("T")


class ServerProcess:
    """``trio-server`` as a child process on a port below the ephemeral range (a test may start
    it again on the same port); its log is kept for failure reports."""

    def __init__(self, *extra_args: str, start_timeout: float = 20.0) -> None:
        # TRIO_SERVER names another server executable (same CLI) to test against.
        exe = (
            os.environ.get("TRIO_SERVER")
            or shutil.which("trio-server", path=str(Path(sys.executable).parent))
            or shutil.which("trio-server")
        )
        if exe is None:
            raise RuntimeError("trio-server is not installed in this environment")
        self.log: list[str] = []
        self._listening = threading.Event()
        self.base_url = ""
        self.proc = subprocess.Popen(
            [exe, "--port", str(free_port()), *extra_args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._listening.wait(start_timeout):
            self.stop()
            raise RuntimeError("trio-server did not report its port:\n" + self.log_text())

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line.rstrip("\n"))
            match = _LISTENING.search(line)
            if match and not self._listening.is_set():
                self.base_url = match.group(1)
                self._listening.set()

    def log_text(self, last: int = 80) -> str:
        return "\n".join(self.log[-last:])

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.base_url + path, timeout=5) as response:
            return json.load(response)

    def room_url(self, room_id: str, role: str, name: str, **extra: str) -> str:
        if self.proc.poll() is not None:  # a test after a crash says so, with the log
            raise RuntimeError(f"trio-server exited ({self.proc.returncode}):\n"
                               + self.log_text())
        return f"{self.base_url}/room/{room_id}?{urlencode({'role': role, 'name': name, **extra})}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@contextmanager
def running_server(*extra_args: str) -> Iterator[ServerProcess]:
    server = ServerProcess(*extra_args)
    try:
        yield server
    finally:
        server.stop()


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1, valid for an hour."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tri-party browser test")])
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / "browser-cert.pem", directory / "browser-key.pem"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    return certfile, keyfile


def launch_chromium(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS, timeout=30_000
    )


def open_page(
    browser: Browser, url: str, *, width: int = 900, height: int = 700, trust_any_cert: bool = False
) -> Page:
    """A page in its own context (like a separate window), with console errors kept."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, permissions=["camera", "microphone"],
        ignore_https_errors=trust_any_cert,
    )
    page = context.new_page()
    page.console_log = []  # type: ignore[attr-defined]
    page.on(
        "console",
        lambda m: page.console_log.append(f"{m.type}: {m.text}"),  # type: ignore[attr-defined]
    )
    page.on(
        "pageerror",
        lambda e: page.console_log.append(f"pageerror: {e}"),  # type: ignore[attr-defined]
    )
    page.goto(url)
    return page


def wait_until(
    probe: Callable[[], T], accept: Callable[[T], bool], *, timeout: float, what: str,
    interval: float = 0.1,
) -> T:
    """Polls ``probe`` until ``accept`` holds for its result; fails with the last value seen."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not accept(value):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what}; last: {value!r}"
            )
        time.sleep(interval)
        value = probe()
    return value


# --- what a page knows -------------------------------------------------------------------------

INBOUND_STATS_JS = "() => window.triParty ? window.triParty.inboundStats() : null"


def inbound_stats(page: Page) -> dict[str, Any]:
    """{peerUserId: {state, audio: {packets, bytes}, video: {packets, bytes, framesDecoded}}}."""
    stats = page.evaluate(INBOUND_STATS_JS)
    return stats if isinstance(stats, dict) else {}


def mesh_complete(stats: dict[str, Any], peers: int) -> bool:
    """Every peer connected, decoding its video and receiving its audio."""
    return len(stats) == peers and all(
        s["state"] == "connected"
        and s["video"]["framesDecoded"] > 0
        and s["audio"]["packets"] > 0
        for s in stats.values()
    )


def user_id(page: Page) -> str:
    return str(page.evaluate("() => window.triParty.self.userId"))


def tile_ids(page: Page) -> list[str]:
    return list(page.eval_on_selector_all("#tiles .tile", "els => els.map(e => e.dataset.userId)"))


def orb_status(page: Page) -> str | None:
    el = page.query_selector('#tiles .tile[data-kind="ai"] .orb-status')
    return None if el is None else el.get_attribute("data-status")


def watch_orb_status(page: Page) -> None:
    """From now on, record every status the orb's tile shows (``orb_statuses_seen``): a short
    status (an answer a barge-in cut after half a second) is then seen even if no poll falls
    inside it."""
    page.evaluate("""() => {
        const read = () => {
            const el = document.querySelector('#tiles .tile[data-kind="ai"] .orb-status');
            return el === null ? null : el.getAttribute('data-status');
        };
        if (window.__orbStatusObserver) window.__orbStatusObserver.disconnect();
        window.__orbStatuses = [read()];
        window.__orbStatusObserver = new MutationObserver(() => {
            const now = read();
            const seen = window.__orbStatuses;
            if (seen[seen.length - 1] !== now) seen.push(now);
        });
        window.__orbStatusObserver.observe(document.querySelector('#tiles'), {
            subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'],
        });
    }""")


def orb_statuses_seen(page: Page) -> list[str | None]:
    """The statuses the orb's tile showed since ``watch_orb_status``, in order."""
    seen: list[str | None] = page.evaluate("() => window.__orbStatuses || []")
    return seen


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def console_text(page: Page) -> str:
    return "\n".join(getattr(page, "console_log", []))


def fail_with_logs(failure: AssertionError, server_log: str, pages: dict[str, Page]) -> NoReturn:
    """Re-raise ``failure`` with the server's log and each page's console appended."""
    consoles = "".join(f"\n--- {name} console\n{console_text(p)}" for name, p in pages.items())
    raise AssertionError(f"{failure}\n--- server log\n{server_log}{consoles}") from failure


#: Counts, per user id, the page's ``peer-added`` events from now on (``window.peerAdded``).
COUNT_PEER_ADDED_JS = """() => {
  window.peerAdded = {};
  window.triParty.addEventListener('peer-added', (e) => {
    const id = e.detail.peer.userId;
    window.peerAdded[id] = (window.peerAdded[id] ?? 0) + 1;
  });
}"""
