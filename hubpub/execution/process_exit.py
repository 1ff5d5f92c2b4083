"""Ending a hubpub process without TensorFlow's teardown.

Once TensorFlow is imported, a normal interpreter exit spends about a second (on this 2-core
machine: 0.9 s of a 3.5 s ``python -c "import tensorflow"``) tearing down modules and native
objects nobody will use again. The CLI and the child processes (smoke test, TF2 conversion,
numeric diff) are real processes whose work is done by then, and a parent waiting for a
child's exit pays that second too. ``exit_process`` finishes what a normal exit must still do
(logging, ``atexit`` handlers such as temporary-folder cleanup, flushing the standard
streams) and then ends the process at once.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from typing import NoReturn

__all__ = ["exit_process"]


def exit_process(code: int) -> NoReturn:
    """``sys.exit(code)``, minus TensorFlow's teardown.

    Falls back to ``sys.exit`` when TensorFlow was never imported (nothing to gain) or when
    another non-daemon thread still runs (a normal exit waits for it; so must this one).
    """
    others = [t for t in threading.enumerate()
              if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if "tensorflow" not in sys.modules or others:
        sys.exit(code)
    logging.shutdown()
    atexit._run_exitfuncs()  # what the interpreter runs at exit: weakref finalizers, etc.
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: nothing left to say there
            code = code or 2
    os._exit(code)
