"""How hubpub's processes end: without TensorFlow's teardown, and never after their parent.

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
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import NoReturn

__all__ = ["PARENT_ENV", "child_environment", "die_with_parent", "exit_process",
           "missing_result", "run_child"]


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


# --- hubpub's child processes ----------------------------------------------------------------

PARENT_ENV = "HUBPUB_PARENT_PID"  # set for a child: the process it must not outlive
_PR_SET_PDEATHSIG = 1


def child_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a hubpub child (smoke test, conversion, numeric diff, rebuild): it
    names this process, so the child ends when this one does (``die_with_parent``)."""
    out = dict(os.environ if env is None else env)
    out[PARENT_ENV] = str(os.getpid())
    return out


def die_with_parent() -> None:
    """In a hubpub child: end when the parent ends, however it ends (SIGKILL included).

    Linux delivers SIGKILL to the child when its parent dies (``PR_SET_PDEATHSIG``); a parent
    that died before that was set is seen at once. Elsewhere, nothing (a killed parent's
    child runs until its own time limit). Call it first thing in the child.
    """
    expected = os.environ.pop(PARENT_ENV, None)
    if not expected or not expected.isdigit():
        return
    if sys.platform == "linux":
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != int(expected):  # the parent is already gone
        os._exit(128 + signal.SIGKILL)


def run_child(argv: Sequence[str], *, what: str, timeout: float | None = None,
              env: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    """Run a hubpub child to its end, capturing its output; it dies with this process.

    The caller decides from the child's exit code *and* its result (a report file, a last
    line of JSON) whether it succeeded: a child that exits 0 without its result failed.

    Raises:
        CheckFailure: the child did not finish within ``timeout`` seconds (it was killed).
    """
    from hubpub.errors import CheckFailure

    try:
        return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                              env=child_environment(env), cwd=cwd, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise CheckFailure(f"{what} did not finish in {timeout:g} s and was stopped; if it "
                           f"is just slow, raise the limit with --timeout SECONDS") from None


def missing_result(what: str, returncode: int, stderr: str) -> str:
    """What to say about a child that ended without its result: its exit and last words."""
    tail = "\n".join(stderr.strip().splitlines()[-15:])
    how = (f"was killed by signal {-returncode}" if returncode < 0 else
           f"ended (exit {returncode}) without its result")
    return f"{what} {how}" + (f":\n{tail}" if tail else "")
