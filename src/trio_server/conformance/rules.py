"""The rules a case can cite: sections of docs/protocol.md, by their heading and anchor.

A report names the rule a case checks so that a server author can read it up; a heading that
moves in docs/protocol.md must move here too (a test of the suite resolves every anchor).
"""

from __future__ import annotations

import attrs

#: Where the rules live, relative to the repository root (and in the published docs).
PROTOCOL_DOC = "docs/protocol.md"


@attrs.frozen
class Rule:
    """One section of docs/protocol.md."""

    #: The GitHub-style anchor of the section's heading (no ``#``).
    anchor: str
    #: The heading as it reads in docs/protocol.md, without the leading hashes.
    heading: str
    #: A shorter name for report tables, when the heading is long.
    short: str | None = None

    @property
    def ref(self) -> str:
        return f"{PROTOCOL_DOC}#{self.anchor}"

    @property
    def title(self) -> str:
        """The heading (or its short name) without Markdown code marks, for reports."""
        return (self.short or self.heading).replace("`", "")


TRANSPORT = Rule("transport", "Transport")
SESSION = Rule("a-session-step-by-step", "A session, step by step")
JOIN = Rule("join", "`join`")
RELAY = Rule("relayed-messages", "Relayed messages")
PERMISSIONS = Rule("who-may-send-what-generated-from-the-codes-permission-table",
                   "Who may send what (generated from the code's permission table)",
                   "Who may send what")
SERVER_TO_CLIENT = Rule("server---client", "Server -> client")
OFFER_DIRECTION = Rule("offer-direction", "Offer direction")
REPLACEMENT = Rule("replacement-reconnect", "Replacement (reconnect)")
LIVENESS = Rule("liveness", "Liveness")
DELIVERY = Rule("delivery-guarantees", "Delivery guarantees")
CLOSE_CODES = Rule("close-codes", "Close codes")

AWAY_AND_RESUME = Rule("away-and-resume-ext", "Away and resume **[ext]**", "Away and resume")
ORB_UNDERSTOOD = Rule("what-the-orb-understood-ext", "What the orb understood **[ext]**",
                      "What the orb understood")
ROLE_RULE = Rule("who-may-send-what-by-role-ext", "Who may send what, by role **[ext]**",
                 "Who may send what, by role")
END_SESSION = Rule("end-session-ext", "End session **[ext]**", "End session")
ORB_MODE = Rule("orb-mode-ext", "Orb mode **[ext]**", "Orb mode")
ALL_RULES = (TRANSPORT, SESSION, JOIN, RELAY, PERMISSIONS, SERVER_TO_CLIENT, OFFER_DIRECTION,
             REPLACEMENT, AWAY_AND_RESUME, LIVENESS, DELIVERY, CLOSE_CODES, ORB_UNDERSTOOD,
             ROLE_RULE, END_SESSION, ORB_MODE)
