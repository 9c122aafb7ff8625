"""Suite-wide settings.

Servers that tests start as subprocesses inherit the environment: without this, each would
write the session ledger's default ``./signaling.sqlite3`` in the working directory, and
servers running side by side would share (and close each other's sessions in) one database.
The ledger's own tests pass ``--db`` explicitly.
"""

from __future__ import annotations

import os

os.environ.setdefault("SIGNALING_DB", "none")


def pytest_sessionstart(session: object) -> None:
    """The orb's speech-to-text is tested for real: without the ``brain`` extra (which the
    ``test`` extra includes) the run stops here rather than skipping those tests."""
    from orb_bridge.stt import stt_available

    if not stt_available():
        import pytest

        raise pytest.UsageError(
            "faster-whisper is missing: install the test extra (pip install -e '.[test]'), "
            "which includes the orb's 'brain' extra")
