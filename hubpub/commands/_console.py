"""Terminal output shared by commands: colour only on a tty, progress that stays out of CI logs."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

__all__ = ["StepProgress", "use_colour"]


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


class StepProgress:
    """``progress(step, done, total)`` for long steps.

    On a terminal each step is one line rewritten in place with a percentage and a rate
    (``hubpub: parse... 42% 230 MB/s``); elsewhere (CI logs) only the start of each step is
    printed, once.
    """

    def __init__(self, stream: TextIO = sys.stderr, *, quiet: bool = False) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._quiet = quiet
        self._step: str | None = None
        self._started = 0.0
        self._last = 0.0

    def __call__(self, step: str, done: int | None = None, total: int | None = None) -> None:
        if self._quiet:
            return
        now = time.monotonic()
        if step != self._step:
            self.finish()
            self._step, self._started = step, now
            self._stream.write(f"hubpub: {step}...")
            self._stream.flush()
            if not self._tty:
                self._stream.write("\n")
            return
        if not self._tty or done is None or now - self._last < 0.1:
            return
        self._last = now
        amount = f"{done * 100 // total}%" if total else f"{done / 1e6:.0f} MB"
        self._stream.write(f"\rhubpub: {step}... {amount}{rate(done, now - self._started)}"
                           "\x1b[K")
        self._stream.flush()

    def finish(self) -> None:
        if self._step is not None and self._tty:
            self._stream.write(f"\rhubpub: {self._step}... done\x1b[K\n")
            self._stream.flush()
        self._step = None


def rate(done: int, seconds: float) -> str:
    """`` 230 MB/s`` once a step has run long enough for the figure to mean something."""
    return f" {done / 1e6 / seconds:.0f} MB/s" if seconds >= 0.5 else ""
