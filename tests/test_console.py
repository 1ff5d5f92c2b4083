"""Progress of long steps: percentage and rate on a terminal, one line per step in CI logs."""

from __future__ import annotations

import io

import pytest

from hubpub.commands import _console
from hubpub.commands._console import StepProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def clock(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(_console.time, "monotonic", lambda: now[0])
    return now


def run_steps(progress: StepProgress, clock: list[float]) -> None:
    progress("parse", 0, 1000_000_000)
    for done in (250_000_000, 500_000_000, 1000_000_000):
        clock[0] += 1.0
        progress("parse", done, 1000_000_000)
    progress("pack", None, None)
    clock[0] += 2.0
    progress("pack", 300_000_000, None)
    progress.finish()


def test_terminal_shows_percentage_and_rate(clock):
    out = Terminal()
    run_steps(StepProgress(out), clock)
    text = out.getvalue()
    assert "\rhubpub: parse... 25% 250 MB/s" in text
    assert "\rhubpub: parse... 100% 333 MB/s" in text
    assert "\rhubpub: parse... done" in text
    assert "\rhubpub: pack... 300 MB 150 MB/s" in text
    assert text.endswith("\rhubpub: pack... done\x1b[K\n")


def test_no_rate_in_the_first_half_second(clock):
    out = Terminal()
    progress = StepProgress(out)
    progress("parse", 0, 100)
    clock[0] += 0.2
    progress("parse", 10, 100)
    assert out.getvalue().endswith("hubpub: parse... 10%\x1b[K")


def test_ci_logs_get_one_line_per_step(clock):
    out = io.StringIO()
    run_steps(StepProgress(out), clock)
    assert out.getvalue() == "hubpub: parse...\nhubpub: pack...\n"


def test_quiet_prints_nothing(clock):
    out = Terminal()
    run_steps(StepProgress(out, quiet=True), clock)
    assert out.getvalue() == ""
