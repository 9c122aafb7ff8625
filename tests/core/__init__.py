"""Unit tests of the sans-IO core, driven through the room harness in :mod:`.harness`."""
