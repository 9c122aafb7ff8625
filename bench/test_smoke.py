"""Every bench runs as its documentation writes it, so a renamed option, a moved module or a
broken bench fails CI instead of a reader.

The commands are read from where a reader finds them: every ``python bench/...`` command quoted
in a tracked Markdown file (inline or in a code block) and in the usage lines of the benches'
docstrings. Each is run from the repository root the way a reader with the project's virtual
environment active types it: ``python`` is this interpreter, its ``bin`` first on ``PATH``,
no ``PYTHONPATH``. Placeholders are filled: ``PORT`` and ``PID`` from the websockets baseline,
itself started by its own quoted command; a ``/tmp/...`` output path goes to a temporary
folder; ``[--opt N]`` is given as ``--opt N`` and ``a|b`` as ``a``.

* Per bench, **one** quoted command runs for real with the bench's smoke flag added
  (``--smoke``): the first quoted command of the
  docs that already carries the flag, otherwise the first one quoted (README.md,
  bench/README.md, docs/, other Markdown, then the bench's docstring). A smoke flag overrides
  the sizes given with it, so this costs seconds; a bench must exit 0.
* Every **other** quoted command is checked for its options: the bench is imported and its
  argument parser runs on exactly those arguments, then the process exits. That catches a
  renamed option or a moved import for a Python start instead of a run.

Servers started by a smoke run get ``SIGNALING_DB=none``, as everywhere in the suite, so no
ledger file is left in the checkout. All smoke runs together: see ``SMOKE_TIMEOUT`` for the
bounds; bench/README.md gives the measured cost.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"

#: The smoke flag of each bench that does not use ``--smoke``.
SMOKE_FLAG: dict[str, str] = {}
#: Modules in bench/ that are not benches (besides ``_*.py`` and ``test_*.py``).
HELPERS = {"bench/orb_common.py"}
#: Started as servers for the others, never run as a bench.
SERVERS = {"bench/baselines/websockets_relay.py"}
#: Bound of one smoke run (seconds); each runs in seconds to about a minute on 2 busy cores.
SMOKE_TIMEOUT = {"bench/orb_reply_latency.py": 150.0, "bench/run_server_bench.py": 150.0}
DEFAULT_SMOKE_TIMEOUT = 100.0
PARSE_TIMEOUT = 60.0

COMMAND = re.compile(r"python3? bench/\S+\.py\b")
INLINE = re.compile(r"`(python3? bench/[^`\s]+\.py(?:\s[^`]*)?)`")
FENCE = re.compile(r"^\s*```")


@dataclass(frozen=True)
class Quoted:
    """One command as written, where it was found, and its words."""

    where: str
    text: str
    argv: tuple[str, ...]

    @property
    def script(self) -> str:
        return self.argv[1]

    @property
    def id(self) -> str:
        return f"{self.where}: {' '.join(self.argv)}"


def words(command: str) -> tuple[str, ...]:
    command = re.sub(r"\s+#.*$", "", command.strip())        # a trailing comment
    command = re.sub(r"\s*\\\n\s*", " ", command)             # continued lines
    command = re.sub(r"\[([^\]]*)\]", r"\1", command)         # [--opt N]: given
    argv = shlex.split(command)
    return tuple(w.split("|")[0] if "|" in w and not w.startswith("-") else w for w in argv)


def markdown_commands(name: str, text: str) -> list[Quoted]:
    found: list[Quoted] = []
    lines = text.splitlines(keepends=True)
    inline_text: list[str] = []
    block: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(lines, 1):
        if FENCE.match(line):
            fenced = not fenced
            inline_text.append("\n")
            continue
        if not fenced:
            inline_text.append(line)
            continue
        inline_text.append("\n")
        block.append((number, line))
        if block and line.rstrip().endswith("\\"):
            continue
        start, joined = block[0][0], "".join(part for _, part in block)
        block = []
        stripped = joined.strip()
        if COMMAND.match(stripped):
            found.append(Quoted(f"{name}:{start}", " ".join(stripped.split()), words(stripped)))
    prose = "".join(inline_text)
    for match in INLINE.finditer(prose):
        number = prose.count("\n", 0, match.start()) + 1
        text_ = " ".join(match.group(1).split())
        found.append(Quoted(f"{name}:{number}", text_, words(text_)))
    return sorted(found, key=lambda q: int(q.where.rsplit(":", 1)[1]))


def docstring_commands(name: str, source: str) -> list[Quoted]:
    doc = ast.get_docstring(ast.parse(source)) or ""
    found = []
    lines = doc.splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not COMMAND.match(stripped):
            continue
        while stripped.endswith("\\") and index + 1 < len(lines):
            index += 1
            stripped = stripped[:-1] + " " + lines[index].strip()
        found.append(Quoted(f"{name} (docstring)", " ".join(stripped.split()), words(stripped)))
    return found


def tracked(pattern: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z", "--", pattern], cwd=ROOT, check=True,
                         capture_output=True, timeout=30).stdout.decode()
    return sorted(name for name in out.split("\0") if name and (ROOT / name).is_file())


def quoted_commands() -> list[Quoted]:
    """Every quoted command, in the order a reader meets them: README.md, bench/README.md,
    docs/, other Markdown, then the benches' docstrings."""
    markdown = tracked("*.md")
    first = ["README.md", "bench/README.md"]
    ordered = ([m for m in first if m in markdown]
               + [m for m in markdown if m.startswith("docs/")]
               + [m for m in markdown if m not in first and not m.startswith("docs/")])
    found: list[Quoted] = []
    for name in ordered:
        found += markdown_commands(name, (ROOT / name).read_text(encoding="utf-8"))
    for name in tracked("bench/*.py"):
        found += docstring_commands(name, (ROOT / name).read_text(encoding="utf-8"))
    return found


def benches() -> list[str]:
    return [name for name in tracked("bench/*.py")
            if "/" not in name.removeprefix("bench/") and name not in HELPERS
            and not Path(name).name.startswith(("_", "test_"))]


QUOTED = quoted_commands()


def smoke_flag(script: str) -> str:
    return SMOKE_FLAG.get(script, "--smoke")


def smoke_command(script: str) -> Quoted:
    mine = [q for q in QUOTED if q.script == script]
    in_docs = [q for q in mine if "(docstring)" not in q.where]
    flagged = [q for q in in_docs if smoke_flag(script) in q.argv]
    return (flagged or mine)[0]


SMOKE = {script: smoke_command(script) for script in benches()
         if any(q.script == script for q in QUOTED)}
#: Per bench, its other quoted commands, each distinct one once.
OPTIONS_ONLY: dict[str, list[Quoted]] = {}
for _q in QUOTED:
    if _q.script in SERVERS or _q.argv in {s.argv for s in SMOKE.values()}:
        continue
    if all(_q.argv != seen.argv for seen in OPTIONS_ONLY.get(_q.script, [])):
        OPTIONS_ONLY.setdefault(_q.script, []).append(_q)


# -- running a command as a reader would ---------------------------------------------------------


def reader_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["SIGNALING_DB"] = "none"
    return env


def fill(argv: tuple[str, ...], tmp: Path, port: int | None = None,
         pid: int | None = None) -> list[str]:
    out = [sys.executable]
    for word in argv[1:]:
        if "PORT" in word or word == "PID":
            assert port is not None and pid is not None, f"{word}: no server to fill it from"
            word = word.replace("PORT", str(port)) if "PORT" in word else str(pid)
        elif word.startswith("/tmp/"):
            word = str(tmp / Path(word).name)
        out.append(word)
    return out


@dataclass
class Finished:
    returncode: int
    output: str
    seconds: float


def run_bounded(argv: list[str], timeout: float, log: Path) -> Finished:
    """Runs ``argv`` in its own process group from the repository root; on timeout the whole
    group is killed (servers and browsers it started included) and the test fails."""
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=reader_env(), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            rc = None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # anything it left behind
            proc.wait(10)
    output = log.read_text(errors="replace")
    if rc is None:
        pytest.fail(f"{shlex.join(argv)} still running after {timeout:g} s:\n{output[-3000:]}")
    return Finished(rc, output, time.monotonic() - started)


@pytest.fixture
def baseline(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """The websockets baseline, started by its quoted command; yields (port, pid)."""
    command = next(q for q in QUOTED if q.script in SERVERS)
    log = tmp_path / "baseline.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(fill(command.argv, tmp_path), cwd=ROOT, env=reader_env(),
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", log.read_text())
            if match:
                break
            assert proc.poll() is None and time.monotonic() < deadline, \
                f"{command.id} did not start: {log.read_text()[-2000:]}"
            time.sleep(0.05)
        yield int(match.group(1)), proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def needs_server(argv: tuple[str, ...]) -> bool:
    return any("PORT" in word or word == "PID" for word in argv)


# -- the tests -------------------------------------------------------------------------------------


def test_every_bench_is_quoted_and_every_quote_names_a_file() -> None:
    assert len(QUOTED) > 20, "found almost no quoted bench commands: has the parser broken?"
    missing = [q.id for q in QUOTED if not (ROOT / q.script).is_file()]
    assert missing == [], "quoted commands of benches that do not exist"
    unquoted = [b for b in benches() if b not in SMOKE]
    assert unquoted == [], "benches no document shows how to run (so nothing smoke-tests them)"


def test_the_command_reader_sees_what_a_reader_sees() -> None:
    doc = "\n".join([
        "Run `python bench/a.py --runs 3\n--rounds 5` (inline, wrapped).",
        "```bash",
        "python bench/b.py --x 1 \\",
        "    --y 2      # a comment",
        "other command",
        "python bench/c.py [--rooms 40] --mode offline|llm|both",
        "```",
    ])
    found = markdown_commands("doc.md", doc)
    assert [(q.where, q.argv) for q in found] == [
        ("doc.md:1", ("python", "bench/a.py", "--runs", "3", "--rounds", "5")),
        ("doc.md:4", ("python", "bench/b.py", "--x", "1", "--y", "2")),
        ("doc.md:7", ("python", "bench/c.py", "--rooms", "40", "--mode", "offline")),
    ]


def smoke_param(script: str) -> object:
    timeout = SMOKE_TIMEOUT.get(script, DEFAULT_SMOKE_TIMEOUT)
    return pytest.param(script, id=script.removeprefix("bench/"),
                        marks=[pytest.mark.smoke, pytest.mark.timeout(timeout + 30)])


@pytest.mark.parametrize("script", [smoke_param(s) for s in sorted(SMOKE)])
def test_the_bench_runs_as_documented_in_its_smoke_mode(
        script: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    command = SMOKE[script]
    port = pid = None
    if needs_server(command.argv):
        port, pid = request.getfixturevalue("baseline")
    argv = fill(command.argv, tmp_path, port, pid)
    if smoke_flag(script) not in argv:
        argv.append(smoke_flag(script))
    done = run_bounded(argv, SMOKE_TIMEOUT.get(script, DEFAULT_SMOKE_TIMEOUT),
                       tmp_path / "smoke.log")
    print(f"{command.id} + {smoke_flag(script)}: {done.seconds:.1f} s")
    assert done.returncode == 0, (
        f"{command.id}\nrun as {shlex.join(argv)}\nexit {done.returncode}:\n"
        f"{done.output[-4000:]}")


#: Imports a bench as ``python bench/x.py`` would run it and, for each argument list given
#: (JSON), lets its argument parser read them and stops right after: one process per bench.
PARSE_ONLY = """
import argparse, json, os, runpy, sys

class Parsed(BaseException):
    pass

parse = argparse.ArgumentParser.parse_args

def parse_and_stop(self, args=None, namespace=None):
    parse(self, args, namespace)
    raise Parsed

argparse.ArgumentParser.parse_args = parse_and_stop
script = sys.argv[1]
sys.path[0] = os.path.dirname(os.path.abspath(script))
results = []
for args in json.loads(sys.argv[2]):
    sys.argv = [script, *args]
    try:
        runpy.run_path(script, run_name="__main__")
        results.append("ran without parsing its arguments")
    except Parsed:
        results.append(None)
    except SystemExit as exc:
        results.append(f"exit {exc.code}")
print(json.dumps(results))
"""


@pytest.mark.parametrize("script", sorted(OPTIONS_ONLY))
@pytest.mark.timeout(PARSE_TIMEOUT + 30)
def test_every_other_quoted_command_has_valid_options(script: str, tmp_path: Path) -> None:
    commands = OPTIONS_ONLY[script]
    arguments = [fill(q.argv, tmp_path, port=3000, pid=1)[2:] for q in commands]
    done = run_bounded([sys.executable, "-c", PARSE_ONLY, script, json.dumps(arguments)],
                       PARSE_TIMEOUT, tmp_path / "parse.log")
    lines = done.output.strip().splitlines()
    assert done.returncode == 0 and lines, done.output[-3000:]
    verdicts = json.loads(lines[-1])
    bad = [f"{q.id}: {verdict}" for q, verdict in zip(commands, verdicts, strict=True) if verdict]
    assert bad == [], done.output[-3000:]
