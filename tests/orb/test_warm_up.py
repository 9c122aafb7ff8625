"""Models loading in the background when the process ends: the exit waits for them.

The in-process orb host (``trio-server --orbs``) loads its models in a worker thread so the
first orb does not wait for them. A process stopped while one of them loads must not tear the
library down under it: onnxruntime then aborts the whole process ("terminate called without
an active exception", exit -6), as a bench run that ended during the warm-up did in CI."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from orb_bridge.stt import stt_available

pytestmark = pytest.mark.skipif(not stt_available(), reason="faster-whisper is a test dependency")

SCRIPT = textwrap.dedent("""
    import logging, sys
    import attrs
    from orb_bridge._config import OrbConfig
    from orb_bridge.warm_up import warm_speech_in_background
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    config = OrbConfig()
    config = attrs.evolve(config, speech=attrs.evolve(config.speech, voice="espeak"))
    warm_speech_in_background(config)
    print("main done", flush=True)
""")


def test_a_process_that_ends_while_the_models_load_waits_for_them_and_exits_cleanly() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "main done" in done.stdout
    # The main thread was done at once; the models were still loaded, then the process ended.
    assert "speech models loaded" in done.stderr, done.stderr[-3000:]
