"""A word set off by a pause and heard alone: is it the orb's name, its near miss, or
someone else's name?

``orb_bridge.set_off_words`` finds a short stretch with a pause on its side(s); the name
probe (``orb_bridge.name_probe``) hears it alone and scores Whisper's first token on it. This
module holds those scores and the rule that reads them, apart from the probe's decoding so the
rule is pure and tested by itself (docs/orb.md, "How the name is heard": the first cue's
thresholds, chosen on the design half and the earlier held-out sets).
"""

from __future__ import annotations

from typing import Literal

import attrs

#: A word set off by a pause at the turn's start or end (orb_bridge.set_off_words), heard
#: alone, is the name when the name is this many times as likely as its near miss ("Or") and
#: at least :data:`SET_OFF_FLOOR` likely. Chosen on the design half (docs/orb.md).
SET_OFF_RATIO = 3.5
SET_OFF_FLOOR = 0.05
#: A set-off opening word heard alone at least this likely the name needs to be only
#: :data:`SET_OFF_STRONG_RATIO` times as likely as "Or": Piper's own "Orb," opening a request
#: scored 0.19-0.53 and 1.6-3 times "Or" (fresh7), a human's set-off "Or," at most 0.122
#: (fresh6-7, every voice, 45 turns).
SET_OFF_STRONG = 0.18
SET_OFF_STRONG_RATIO = 1.5

#: A word set off and heard alone is the name only when at least this many times as likely
#: as all rivals together: the orb's own name heard alone scored 15-400 times its rivals
#: (en-gb-x-rp's lowest; fresh5-7, every voice), espeak-ng's "Bob," 1.4-4.5 times (" M",
#: "Mob", "Mom") and Piper's "Rob," 0.3 times (fresh7).
RIVAL_RATIO = 8.0

#: Heard alone *without* the hotword, a set-off opening word whose other short names
#: (:attr:`SetOffWord.rival_unhinted`) are this likely is someone else's name, whatever the
#: hotword makes of it: espeak-ng's and Piper's "Bob," scored 0.15-0.30 there (and "Orb"
#: 0.16-0.23 with the hotword, beating the rivals), the orb's own "Orb," at most 0.021 (nine
#: renderings, Piper and espeak-ng: Whisper then hears "Or", "All", "Board"; fresh10's turns).
RIVAL_UNHINTED = 0.08

Where = Literal["opening", "middle", "closing"]


@attrs.frozen
class SetOffWord:
    """A word set off at the turn's ``where``, and how likely it is, heard alone, to be the
    name (``name``) and a near miss of it (``near``: "Or", "or" for "Orb")."""

    where: Where
    name: float
    near: float
    #: How likely it is another person's short name or such a name's first letter
    #: (orb_bridge.name_probe.RIVAL_NAMES, RIVAL_LETTERS).
    rival: float = 0.0
    #: How likely it is another person's short name heard without the hotword (the
    #: opening's only: orb_bridge.name_probe.NameProbe.hear_alone).
    rival_unhinted: float = 0.0

    @property
    def is_the_name(self) -> bool:
        """Heard alone, the name: likely enough, far likelier than "Or" (or, at the opening,
        likely enough to need less: :data:`SET_OFF_STRONG`), and far likelier than any
        other short name (:data:`RIVAL_RATIO`)."""
        beats_near = self.name >= SET_OFF_RATIO * self.near or (
            self.where == "opening" and self.name >= SET_OFF_STRONG
            and self.name >= SET_OFF_STRONG_RATIO * self.near)
        return self.name >= SET_OFF_FLOOR and beats_near and \
            self.name >= RIVAL_RATIO * self.rival and not self.someone_elses

    @property
    def someone_elses(self) -> bool:
        """Heard without the hotword, another person's short name (:data:`RIVAL_UNHINTED`):
        with it, Whisper writes a set-off "Bob," as "Orb" (fresh10, Piper)."""
        return self.rival_unhinted >= RIVAL_UNHINTED

    @property
    def confirms_the_name(self) -> bool:
        """What keeps a set-off "Or," that the rule takes only as a misheard name (rule 3):
        heard alone, the name is as :attr:`is_the_name` asks. A human's "Or, could you…"
        scored the name 0.02-0.12 and 0.5-4 times "Or" (fresh6-7): not that."""
        return self.is_the_name

    @property
    def is_the_near_miss(self) -> bool:
        """Heard alone, likelier the near miss ("Or,") than the name, and likely at all, or
        losing to other short names (:attr:`loses_to_a_rival`): such a word vetoes a bare
        name the opening probe finds. Another word set off ("Okay" of "Okay Orb, ...") is
        neither, and vetoes nothing."""
        return (self.near >= SET_OFF_FLOOR and self.near > self.name) or \
            self.loses_to_a_rival or self.someone_elses

    @property
    def loses_to_a_rival(self) -> bool:
        """Heard alone, a name (the orb's at least :data:`SET_OFF_FLOOR` likely) that fails
        only the rival test of :attr:`is_the_name`: someone else's name. A dropped "Bob,"
        (the name 0.29, the rivals 0.07; fresh8) must not have the 1.2 s probe write the
        orb's name in its place. The "Okay" of "Okay Orb" (the name 0.002, the rivals 0.019,
        en-gb-x-rp) is no name at all, and vetoes nothing."""
        return self.name >= SET_OFF_FLOOR and self.name < RIVAL_RATIO * self.rival

    @property
    def heard_as_near_miss(self) -> bool:
        """Heard alone, likelier the near miss than the name, however unlikely both: what
        undoes rule 3's taking of a set-off "Or," on words alone (:meth:`NameProbe.
        rests_on_near_miss`), where the text rule has no other cue."""
        return self.near > self.name
