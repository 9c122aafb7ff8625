"""Makes the repository's test support importable by a bench run as ``python bench/NAME.py``.

Every bench starts with ``import _repo`` (its own folder is already first on ``sys.path``
when Python runs a script, so this works from any working directory). It puts two folders of
the checkout on ``sys.path``, right after the bench folder:

* the repository root, for ``testkit`` (the synthetic humans, Redis, clusters, free ports);
* ``tests/browser``, for the browser harness that ``browser_mesh.py`` and ``resume.py`` share
  with the browser tests.

Why this and not an installed package: ``testkit`` and the harness are test support, never
shipped (the wheel holds ``src/`` only), and the suite finds them the same way, through
pytest's ``pythonpath = ["."]`` and the browser tests' own folder. Installing them would put
test code into every install of the server; asking for ``PYTHONPATH`` makes every documented
command fail as written. One module that knows the layout, imported first, is the least
surprising: nothing outside the checkout is read, and ``git grep "import _repo"`` finds every
user.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BROWSER_HARNESS = ROOT / "tests" / "browser"

for _folder in (BROWSER_HARNESS, ROOT):
    if str(_folder) not in sys.path:
        sys.path.insert(1, str(_folder))
