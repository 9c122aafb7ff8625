"""Suite-wide settings.

Servers that tests start as subprocesses inherit the environment: without this, each would
write the session ledger's default ``./signaling.sqlite3`` in the working directory, and
servers running side by side would share (and close each other's sessions in) one database.
The ledger's own tests pass ``--db`` explicitly.
"""

from __future__ import annotations

import os

os.environ.setdefault("SIGNALING_DB", "none")
