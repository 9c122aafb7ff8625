"""Fixtures for the real-browser tests: one Chromium per module, servers as subprocesses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_harness import (
    CHROMIUM,
    SPEECHLESS_ORB,
    ServerProcess,
    launch_chromium,
    running_server,
)
from playwright.sync_api import Browser, sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/test.sh does)")
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def plain_server() -> Iterator[ServerProcess]:
    """A server without orbs: two humans only."""
    with running_server() as server:
        yield server


@pytest.fixture(scope="module")
def orb_server() -> Iterator[ServerProcess]:
    """A server that spawns the AI orb when a coach joins."""
    with running_server("--orbs", "--orb-mode", "active") as server:
        yield server


@pytest.fixture(scope="module")
def speechless_orb_server() -> Iterator[ServerProcess]:
    """A server that spawns the orb when a coach joins, for tests of the call itself (mesh,
    status, pause, healing) where nobody speaks to it: no speech models loaded
    (browser_harness.SPEECHLESS_ORB)."""
    with running_server("--orbs", "--orb-mode", "active", *SPEECHLESS_ORB) as server:
        yield server
