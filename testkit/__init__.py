"""Test and benchmark support that is not part of the shipped packages.

``tests/`` find it through pytest's ``pythonpath`` (pyproject.toml); the ``bench/`` scripts put
the repository root on ``sys.path`` themselves, as they do for their own folder.
"""
