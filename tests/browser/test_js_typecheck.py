"""The browser client type-checks (scripts/check-js.sh: tsc --noEmit over static/*.js with
`// @ts-check` and JSDoc), and the check is real: a copy with a type error injected fails."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC_REL = Path("src") / "trio_server" / "static"
STATIC = ROOT / STATIC_REL
TSC = ROOT / "node_modules" / ".bin" / "tsc"
TIMEOUT_S = 300


@pytest.fixture(scope="module")
def check_js() -> subprocess.CompletedProcess[str]:
    """One run of the checker for the module (it also installs the pinned compiler)."""
    if shutil.which("npm") is None:
        pytest.fail("npm is missing: scripts/check-js.sh needs Node.js and npm")
    return subprocess.run(
        ["bash", "scripts/check-js.sh"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def _tsc(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TSC), "--noEmit", "--pretty", "false", "-p", str(project / "tsconfig.json")],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_every_module_is_checked() -> None:
    modules = sorted(STATIC.glob("*.js"))
    assert modules
    unchecked = [
        path.name for path in modules
        if not path.read_text(encoding="utf-8").startswith("// @ts-check\n")
    ]
    assert not unchecked, f"modules without a first line `// @ts-check`: {unchecked}"


def test_check_js_passes(check_js: subprocess.CompletedProcess[str]) -> None:
    assert check_js.returncode == 0, check_js.stdout + check_js.stderr
    assert "[check-js] ok" in check_js.stdout


@pytest.mark.parametrize(
    ("module", "injected", "error"),
    [
        # A typed function called with a wrong argument type (CallView.remove takes a string).
        ("room.js", "view.remove(42);\n", "TS2345"),
        # A join without the userRole the protocol requires.
        ("tri-party.js", "joinMessage({ userId: 'u' });\n", "TS2741"),
        # A DOM lookup used without its null check.
        ("lobby.js", "document.getElementById('join').hidden = true;\n", "TS2531"),
    ],
)
def test_an_injected_type_error_fails(
    check_js: subprocess.CompletedProcess[str],
    tmp_path: Path,
    module: str,
    injected: str,
    error: str,
) -> None:
    assert check_js.returncode == 0, "the checker must pass before it can be shown to fail"
    shutil.copytree(STATIC, tmp_path / STATIC_REL)
    shutil.copy(ROOT / "tsconfig.json", tmp_path / "tsconfig.json")
    assert _tsc(tmp_path).returncode == 0, "the unchanged copy must type-check"

    target = tmp_path / STATIC_REL / module
    target.write_text(target.read_text(encoding="utf-8") + injected, encoding="utf-8")
    result = _tsc(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"{module}(" in output
    assert error in output
