"""The repository stands on its own: no tracked file names a folder beside the checkout (the
``shared/`` sibling that once held baselines and the protocol text) or a path that only exists
on the machine a file was written on (a developer's home, a venv's absolute path).

A clone on a fresh machine has neither; a command or a path to one of them works for its
author and fails for everybody else. The patterns are written for the spellings that have
occurred or would (a string, a ``Path`` expression, a doc's usage line) and no wider, so that
prose about "a shared two-core machine" or a ``/tmp/...`` example never trips them.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()

#: A ``shared`` folder next to the repository, in any spelling that reaches it.
SHARED_SIBLING = re.compile(
    r"""\.\./+shared\b"""                                  # ../shared, ../../shared/x
    r"""|\bshared/baselines\b"""                           # the folder's old contents
    r"""|\bparents?\b[^\n]{0,40}(?:[/,]|joinpath\()\s*["']shared["']"""  # parent / "shared"
    r"""|["']\.\.["']\s*\)?\s*[/,]\s*["']shared["']"""     # Path("..") / "shared", join("..", ...
    r"""|["']\.\./?["']\s*\+\s*["']shared"""               # "../" + "shared"
)

#: An absolute path that only exists on some developer's machine.
MACHINE_PATH = re.compile(
    r"""(?<![\w.~$/-])/(?:work|root|home|Users)/[\w.$-]"""   # /work/venv/..., /home/me/...
    r"""|/tmp/bash_jobs"""                                   # a tool's job folders
    r"""|\.pyenv/"""                                         # a pyenv interpreter
    r"""|(?<![\w.~$/-])/(?:[\w.-]+/)*\.?venv/bin/"""         # /opt/venv/bin/python
)


def tracked_text_files() -> list[tuple[str, str]]:
    """(path, text) of every git-tracked file that is text, this test excepted."""
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                         check=True, timeout=30).stdout
    files = []
    for name in out.decode().split("\0"):
        path = ROOT / name
        if not name or name == THIS or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        files.append((name, data.decode("utf-8", errors="replace")))
    return files


def hits(pattern: re.Pattern[str], files: list[tuple[str, str]]) -> list[str]:
    found = []
    for name, text in files:
        for number, line in enumerate(text.splitlines(), 1):
            if pattern.search(line):
                found.append(f"{name}:{number}: {line.strip()[:160]}")
    return found


@pytest.fixture(scope="module")
def files() -> list[tuple[str, str]]:
    found = tracked_text_files()
    assert len(found) > 50, "git ls-files found almost nothing: not a checkout?"
    return found


def test_nothing_tracked_names_a_shared_folder_beside_the_repository(
        files: list[tuple[str, str]]) -> None:
    found = hits(SHARED_SIBLING, files)
    assert not found, "names a folder beside the repository:\n" + "\n".join(found)


def test_nothing_tracked_names_an_absolute_path_of_a_developer_machine(
        files: list[tuple[str, str]]) -> None:
    found = hits(MACHINE_PATH, files)
    assert not found, "names a path of a developer's machine:\n" + "\n".join(found)


@pytest.mark.parametrize("line", [
    "(`../shared/baselines/node_original`, installed by the bench)",
    'NODE_ORIGINAL = HERE.parent.parent / "shared" / "baselines" / "node_original"',
    'REPO.parent / "shared" / "PROTOCOL.md"',
    "base = Path(__file__).resolve().parents[2] / 'shared'",
    'os.path.join(root, "..", "shared", "x")',
    'Path("..") / "shared"',
    'REPO.parent.joinpath("shared", "baselines")',
    'ROOT + "../" + "shared/x"',
    "see ../../shared/PROTOCOL.md",
])
def test_the_shared_pattern_catches_every_spelling(line: str) -> None:
    assert SHARED_SIBLING.search(line), line


@pytest.mark.parametrize("line", [
    "/work/venv/bin/python bench/run_server_bench.py --runs 5",
    "Run it with `/work/venv/bin/pytest tests/security -q`.",
    "/root/.cache/ms-playwright/chromium-1091/chrome",
    'Path("/home/alice/project/tri-party")',
    "/Users/bob/src/tri/bench",
    "PYTHONPATH=/tmp/bash_jobs.0/1/worktree python bench/x.py",
    "/root/.pyenv/versions/3.11.9/bin/python",
    "~/.pyenv/versions/3.11.9/bin/python",
    "/opt/venv/bin/python -m pytest",
    "/srv/app/.venv/bin/trio-server --port 3000",
])
def test_the_machine_path_pattern_catches_developer_paths(line: str) -> None:
    assert MACHINE_PATH.search(line), line


@pytest.mark.parametrize("line", [
    "on the shared 2-core VM, while other jobs ran",
    "a shared secret of the TURN server",
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[brain]'",
    '"$VENV/bin/python" -m pytest "$@"',
    "python bench/run_server_bench.py --json-out /tmp/bench.jsonl",
    "trio-server --db /tmp/readme-call.sqlite3",
    "https://example.com/work/home/root/",
    "ws://127.0.0.1:3000/ws-simple/room",
    "command -v chromium /usr/bin/chromium",
    "GET /api/sessions/{id} and /healthz",
    "the coach's home page, the client's work",
])
def test_the_patterns_leave_ordinary_text_alone(line: str) -> None:
    assert not SHARED_SIBLING.search(line), line
    assert not MACHINE_PATH.search(line), line
