"""The installed distribution's version, for ``--version`` and ``/healthz``."""

from __future__ import annotations

from importlib import metadata

try:
    VERSION = metadata.version("tri-party-signaling")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    VERSION = "0.0.0+unknown"
