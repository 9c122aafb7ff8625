"""Whom the orb talks to: the stage between a transcribed turn and the conductor's reply.

In a three-way call most speech is between the humans. The coach chooses a mode (``ai_mode``,
docs/orb.md "Whom the orb talks to") and this stage applies it to each finished turn:

* ``listen``: never answer (the orb still transcribes and summarises);
* ``addressed`` (the default): answer a turn addressed to the orb, by name
  (:class:`orb_bridge.addressing.AddressRule`) or by the "Ask the orb" button (``ai_ask``:
  the asker's next turn within ``ask_window``);
* ``active``: also answer the turns of ``reply_to_roles`` (the client) when they end.

Whatever the mode, the answers to addressed turns are bounded (``max_replies`` per
``reply_period``), so a name said a hundred times a minute gets a handful of replies.
With a language model configured, a turn the name rule finds ambiguous (a request with a
near miss of the name) is marked ``to_judge``: the conductor awaits :meth:`Addressee.judge`
(orb_bridge.address_judge) before answering or only observing it.
It decides only; it never speaks, and it holds no task (so it needs no shutdown).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

import attrs

from .address_judge import AddressJudge
from .addressing import AddressRule, Reason
from .hearing import Utterance

logger = logging.getLogger(__name__)

MODES = ("listen", "addressed", "active")


@attrs.frozen
class Decision:
    """Whether a finished turn is answered, and why (logged with the turn)."""

    answer: bool
    why: str
    #: Not answered by the rule, but ambiguous: the language model is to be asked.
    to_judge: bool = False


class Addressee:
    """The mode, the name rule, open asks and the reply budget of one orb."""

    def __init__(self, rule: AddressRule, *, mode: str = "addressed",
                 reply_to_roles: tuple[str, ...] = ("client",), ask_window: float = 10.0,
                 max_replies: int = 6, reply_period: float = 60.0,
                 clock: Callable[[], float] = time.monotonic,
                 judge: AddressJudge | None = None) -> None:
        self.rule = rule
        self.judge = judge
        #: The last finished turns as (role, words), the judge's context.
        self._recent: deque[tuple[str, str]] = deque(maxlen=4)
        #: speaker id → until when their next turn counts as addressed (``ai_ask``).
        self._asks: dict[str, float] = {}
        self._mode = "addressed"
        self.mode = mode
        self._reply_to_roles = reply_to_roles
        self._ask_window = ask_window
        self._max_replies = max_replies
        self._period = reply_period
        self._clock = clock
        self._answered: deque[float] = deque()
        self.decisions: list[tuple[str, Decision]] = []

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self._mode = mode
        if mode == "listen":
            self._asks.clear()

    def ask(self, speaker_id: str) -> None:
        """``ai_ask``: the asker's next turn (ending within ``ask_window``) is addressed."""
        if self._mode != "listen":
            self._asks[speaker_id] = self._clock() + self._ask_window

    def decide(self, utterance: Utterance) -> Decision:
        """Whether to answer this finished turn; an answer counts against the budget."""
        decision = self._within_budget(self._decide(utterance))
        text = utterance.text or ""
        if (not decision.answer and self.judge is not None and self._mode != "listen"
                and self.judge.worth_asking(text)):
            decision = Decision(False, f"{decision.why}, ambiguous", to_judge=True)
        self._record(utterance, decision)
        self._recent.append((utterance.role, text))
        return decision

    def would_answer(self, utterance: Utterance) -> bool:
        """Whether :meth:`decide` would answer this turn now, without deciding it (no ask
        used, nothing counted or recorded): the early reply (orb_bridge.early_reply) drafts
        only for such turns, and the turn's own decision still rules."""
        if self._mode == "listen":
            return False
        now = self._clock()
        if sum(1 for t in self._answered if t > now - self._period) >= self._max_replies:
            return False
        until = self._asks.get(utterance.speaker_id)
        if until is not None and now <= until:
            return True
        if self.rule.judge(utterance.text or "").addressed:
            return True
        return self._mode == "active" and utterance.role in self._reply_to_roles

    async def judged(self, utterance: Utterance) -> Decision:
        """The language model's word on a turn :meth:`decide` marked ``to_judge``, within
        the reply budget (a mode switched to ``listen`` meanwhile wins)."""
        assert self.judge is not None
        context = list(self._recent)[:-1]  # the turns before this one
        yes = await self.judge.addressed(utterance.text or "", context)
        if self._mode == "listen":
            decision = Decision(False, "listen mode")
        elif yes:
            decision = self._within_budget(Decision(True, "judged addressed"))
        else:
            decision = Decision(False, "judged not addressed")
        self._record(utterance, decision)
        return decision

    def _within_budget(self, decision: Decision) -> Decision:
        if decision.answer:
            now = self._clock()
            while self._answered and self._answered[0] <= now - self._period:
                self._answered.popleft()
            if len(self._answered) >= self._max_replies:
                return Decision(False, f"{decision.why}, over the reply budget")
            self._answered.append(now)
        return decision

    def _record(self, utterance: Utterance, decision: Decision) -> None:
        self.decisions.append((utterance.speaker_id, decision))
        del self.decisions[:-32]
        logger.info("addressing %s (%s): %s, %s", utterance.speaker_id, self._mode,
                    "answered" if decision.answer else
                    "to be judged" if decision.to_judge else "not answered", decision.why)

    def _decide(self, utterance: Utterance) -> Decision:
        if self._mode == "listen":
            return Decision(False, "listen mode")
        until = self._asks.pop(utterance.speaker_id, None)
        # The turn's end, not this decision, counts: speech-to-text may take a while.
        ended = utterance.heard_at if utterance.heard_at is not None else self._clock()
        if until is not None and ended <= until:
            return Decision(True, "asked by button")
        verdict = self.rule.judge(utterance.text or "")
        if verdict.addressed:
            return Decision(True, f"named ({verdict.reason.value})")
        if self._mode == "active" and utterance.role in self._reply_to_roles:
            return Decision(True, f"active mode, {utterance.role}'s turn")
        why = "talked about" if verdict.reason is Reason.TALKED_ABOUT else "not addressed"
        return Decision(False, why)
