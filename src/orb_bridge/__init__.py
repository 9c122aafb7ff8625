"""The AI orb (docs/protocol.md): a real aiortc media peer, attached to Trio through a portal.

``InProcessOrbHost`` is the server's orb host (``trio-server --orbs``); ``orb-worker`` runs one
orb in its own process over WebSocket. Both run the same :class:`OrbSession`. See docs/orb.md.
"""

from ._config import OrbConfig
from .brain import Brain, OfflineBrain, ReplyAudio, SpeechChainBrain, StatusHint
from .hearing import Utterance
from .in_process_host import InProcessOrbHost
from .session import OrbOutcome, OrbSession

__all__ = [
    "Brain",
    "InProcessOrbHost",
    "OfflineBrain",
    "OrbConfig",
    "OrbOutcome",
    "OrbSession",
    "ReplyAudio",
    "SpeechChainBrain",
    "StatusHint",
    "Utterance",
]
