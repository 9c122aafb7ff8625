"""The language model's judgement of a turn the text rule finds ambiguous.

The text rule (``orb_bridge.addressing``) is strict on purpose: silence while the humans talk
matters more than an answer missed, since "Ask the orb" and "Hey Orb" always work. But some
turns it refuses could well be meant for the orb: a request opening with a near miss of the
name ("Or, what should I try first?" — a bare "Orb," as Whisper often writes it), or a
question that names the orb in a way the rule reads as talk about it. When a language model
is configured, such a turn is put to it with the turns just before, and its one-word answer
decides. Anything but a clear "yes" or "no" (an error, a timeout, another word) leaves the
rule's "no": the judgement can only add answers, never take one away.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import attrs

from .addressing import AddressRule
from .llm import ChatClient, LlmError

if TYPE_CHECKING:
    from ._config import OrbConfig

logger = logging.getLogger(__name__)

#: At most this many tokens of answer: "yes" or "no".
MAX_TOKENS = 3
#: A judgement is awaited before the turn is answered: bounds tighter than a reply's.
FIRST_TOKEN_TIMEOUT, TIMEOUT = 2.0, 3.0
_FIRST_WORD = re.compile(r"[a-z]+")


class Completer(Protocol):
    async def complete(self, messages: Sequence[dict[str, str]], *,
                       max_tokens: int | None = None) -> str:
        """The model's whole answer (orb_bridge.llm.ChatClient)."""


def instructions(name: str) -> str:
    """The system message: what the model judges, and how to answer."""
    return (
        f"You listen to a coaching call between a coach, a client and an AI assistant named "
        f"{name}. Speech-to-text may mishear the name {name!r} (as 'Or', 'Orbs', 'Aub', or "
        f"leave it out). Decide whether the LAST turn is said to the assistant, asking it "
        f"something, rather than said to the other human. Answer with one word: yes or no.")


def address_judge_for(config: OrbConfig) -> AddressJudge | None:
    """The judge of an orb whose speech settings name a language model, else ``None``."""
    speech = config.speech
    if speech.llm_url is None:
        return None
    speech = attrs.evolve(
        speech, llm_first_token_timeout=min(FIRST_TOKEN_TIMEOUT, speech.llm_first_token_timeout),
        llm_timeout=min(TIMEOUT, speech.llm_timeout))
    return AddressJudge(ChatClient(speech), config.name)


class AddressJudge:
    """Asks a chat model whether an ambiguous turn is addressed to the orb named ``name``."""

    def __init__(self, client: Completer, name: str) -> None:
        self._client = client
        self.name = name
        self._rule = AddressRule(name)
        #: Turns put to the model, and how many it answered yes / gave no usable answer to.
        self.asked = self.said_yes = self.unusable = 0

    def worth_asking(self, text: str) -> bool:
        """An ambiguous turn: not addressed by the rule, a question or a request, and the
        name or a near miss of it somewhere in it."""
        return (self._rule.opens_a_request(text) and self._rule.mentions_name(text)
                and not self._rule.judge(text).addressed)

    async def addressed(self, text: str, before: Sequence[tuple[str, str]] = ()) -> bool:
        """Whether the model says ``text`` is said to the orb (``before``: the call's last
        turns as (role, words), oldest first). False when it gives no usable answer."""
        lines = [f"{role}: {words}" for role, words in before[-4:]]
        lines.append(f"LAST TURN: {text}")
        messages = [{"role": "system", "content": instructions(self.name)},
                    {"role": "user", "content": "\n".join(lines)}]
        self.asked += 1
        try:
            answer = await self._client.complete(messages, max_tokens=MAX_TOKENS)
        except LlmError as exc:
            self.unusable += 1
            logger.info("addressing: the language model gave no judgement (%s)", exc)
            return False
        word = _FIRST_WORD.search(answer.lower())
        verdict = word.group(0) if word else ""
        if verdict not in ("yes", "no"):
            self.unusable += 1
            logger.info("addressing: the language model's judgement %r is neither yes nor no",
                        answer[:40])
            return False
        self.said_yes += verdict == "yes"
        return verdict == "yes"
