"""Sessions as a plain-text table for ``trio-server sessions`` (times in UTC)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from ._query import SessionView, SummaryView, TranscriptLine

#: The orb statuses in the order a reader expects them; others follow alphabetically.
_STATUS_ORDER = ("ready", "listening", "thinking", "speaking", "paused", "processing")


def duration(seconds: float | None) -> str:
    """``4.2s``, ``2m07s``, ``1h02m``; ``-`` for unknown."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _clock(ts: float | None, with_date: bool) -> str:
    if ts is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(ts, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def _table(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        (indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]


def _statuses(seconds: dict[str, float]) -> str:
    order = {name: i for i, name in enumerate(_STATUS_ORDER)}
    names = sorted(seconds, key=lambda s: (order.get(s, len(order)), s))
    return ", ".join(f"{name} {duration(seconds[name])}" for name in names)


def format_sessions(sessions: Sequence[SessionView]) -> str:
    """One header line per session, its participants indented below it."""
    if not sessions:
        return "no sessions recorded\n"
    lines: list[str] = []
    for session in sessions:
        if lines:
            lines.append("")
        end = session.end_reason or "(in progress)"
        lines.extend(_table([
            ("SESSION", "ROOM", "STARTED (UTC)", "DURATION", "ENDED BY"),
            (session.session_id, session.room, _clock(session.started_at, True),
             duration(session.duration), end),
        ]))
        rows = [("USER", "NAME", "ROLE", "TYPE", "JOINED", "LEFT", "ENDING", "ORB STATUS")]
        for p in session.participants:
            rows.append((p.user_id, p.name or "-", p.role, p.type, _clock(p.joined_at, False),
                         _clock(p.left_at, False), p.ending or "-",
                         _statuses(p.status_seconds)))
        lines.extend(_table(rows, indent="    "))
    return "\n".join(lines) + "\n"


def format_transcript(session: SessionView, lines: Sequence[TranscriptLine],
                      summary: SummaryView | None) -> str:
    """The session's header and participants, its summary, then who said what when."""
    out = [format_sessions([session]).rstrip("\n"), ""]
    if summary is None:
        out.append("SUMMARY: none written")
    else:
        out.append(f"SUMMARY ({summary.method}, written {_clock(summary.written_at, True)} UTC)")
        out.extend("    " + line for line in summary.text.splitlines())
    out.append("")
    if not lines:
        out.append("TRANSCRIPT: nothing transcribed")
    else:
        out.append("TRANSCRIPT")
        for line in lines:
            out.append(f"    {_clock(line.started_at, False)}  {line.speaker_role:<6}  "
                       f"{line.speaker_id}: {line.text}")
    return "\n".join(out) + "\n"
