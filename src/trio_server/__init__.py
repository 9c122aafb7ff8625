"""Trio server for the tri-party signaling protocol: one port, WebSocket plus HTTP.

``SignalingServer`` drives :mod:`signaling_core` over sockets it owns; ``trio-server`` (see
:mod:`trio_server.cli`) runs it from the command line.
"""

from signaling_core.orb_hosting import OrbHost

from .config import ServerConfig
from .http import HttpRequest, HttpResponse, Router
from .ledger_contract import LedgerSink
from .local import LocalConnection
from .server import SignalingServer
from .version import VERSION as __version__

__all__ = [
    "HttpRequest",
    "HttpResponse",
    "LedgerSink",
    "LocalConnection",
    "OrbHost",
    "Router",
    "ServerConfig",
    "SignalingServer",
    "__version__",
]
