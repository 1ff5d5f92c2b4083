"""The ``hubpub`` command line: parses arguments, runs one command, maps errors to exit codes.

Exit codes (the whole policy lives here and in each command's return value):
    0  success, no findings at or above --fail-on
    1  checks or the smoke test found problems; --check found drift
    2  usage or input error (bad manifest, bad handle, hostile archive, ...)

TensorFlow is never imported here: each command module imports it inside ``run`` when needed.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import signal
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from hubpub import __version__
from hubpub.errors import HubpubError, ManifestError, OutputError, Terminated
from hubpub.execution.process_exit import die_with_parent, exit_process

__all__ = ["build_parser", "console_main", "main"]

# Command name -> module under hubpub.commands with ``register(subparsers)``.
COMMANDS = ("build", "lint", "validate", "diff", "verify", "convert", "rules", "docs", "init",
            "publish")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hubpub",
        description="Author, check, export, pack and document TF1 Hub format modules.",
        epilog="Exit codes: 0 success; 1 checks, the smoke test or --check found problems; "
               "2 usage or input error. `hubpub COMMAND --help` describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"hubpub {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"hubpub.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit:  # --help, --version: their text must arrive too
            _flush_stdout()
            raise
        if not getattr(args, "run", None):
            parser.print_help(sys.stderr)
            return 2
        if sys.stderr.isatty():  # downloads of URL handles show their progress on a terminal
            os.environ.setdefault("TFHUB_DOWNLOAD_PROGRESS", "1")
        code = int(args.run(args))
        _flush_stdout()  # a full disk shows at the flush: exit 2, not a false 0
        return code
    except ManifestError as exc:
        for problem in exc.problems:  # file:line:col lines, as editors and CI parse them
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        where = ", ".join(sorted({p.path for p in exc.problems}))
        print(f"hubpub: error: {count} problem{'s' * (count != 1)} in {where}", file=sys.stderr)
        return exc.exit_code
    except HubpubError as exc:
        print(f"hubpub: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("hubpub: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        # A full disk (or a file-size limit) is the machine's state, not a bug in hubpub:
        # whatever was being written, the command cleaned up on its way out.
        if exc.errno not in _DISK_FULL:
            raise
        where = f" {exc.filename}" if exc.filename else ""
        print(f"hubpub: error: writing{where} failed: {exc.strerror}; free some space (or "
              f"raise the file size limit) and run the command again", file=sys.stderr)
        return 2


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class _CheckedStdout:
    """Standard output whose write failures are an OutputError (exit 2 with a message).

    A report that cannot be delivered (stdout closed, a reader that went away, a full disk)
    must not end in a traceback, nor in exit 0 with the report lost.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def _failed(self, exc: OSError) -> OutputError:
        _silence_stdout(self._stream)
        return OutputError(f"cannot write to standard output: {exc.strerror or exc}")

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise self._failed(exc) from exc

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise self._failed(exc) from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _silence_stdout(stream: TextIO) -> None:
    """Points the failed stream at /dev/null, so the flush at exit does not fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def _flush_stdout() -> None:
    with contextlib.suppress(AttributeError):
        sys.stdout.flush()


def console_main() -> None:
    """The console script and ``python -m hubpub``: a real process, so native noise can go."""
    from hubpub.commands._quiet import quiet_tensorflow

    die_with_parent()  # a hubpub child (verify's rebuild) never outlives its parent
    if sys.stdout is None:  # started with stdout closed (`hubpub lint x >&-`)
        print("hubpub: error: standard output is closed; hubpub writes its results there "
              "(redirect it to a file or /dev/null instead)", file=sys.stderr)
        sys.exit(OutputError.exit_code)
    sys.stdout = _CheckedStdout(sys.stdout)
    quiet_tensorflow()
    # A cancelled CI job sends SIGTERM: exit through the normal path, so staging folders and
    # child processes are cleaned up as after Ctrl-C.
    def terminate(signum: int, frame: object) -> None:
        raise Terminated(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    exit_process(main())
