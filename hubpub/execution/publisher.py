"""Importing and running the publisher's code (module_fn, hooks), blaming its own lines.

Publisher code runs inside ``publisher_code``: it cannot fake a result or hang hubpub.
Its ``print`` goes to stderr (at the file-descriptor level too, for native code), so
``--format json`` on stdout stays parseable; ``sys.exit`` and ``os._exit`` raise a
PublisherCodeError instead of ending the process; and it is stopped after a time limit
(``time_limit``, the CLI's ``--timeout``).
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import importlib.util
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from hubpub.errors import PublisherCodeError, Terminated

__all__ = ["TIMEOUT_SECONDS", "import_callable", "publisher_code", "publisher_frame",
           "time_limit", "wrap_publisher_error"]

TIMEOUT_SECONDS = 1800.0
# After the limit, code that cannot be interrupted (stuck in native code, or not on the main
# thread) gets this long before hubpub ends the process with exit code 2.
HARD_STOP_GRACE_SECONDS = 10.0
_LIMIT: contextvars.ContextVar[float] = contextvars.ContextVar("hubpub_time_limit",
                                                               default=TIMEOUT_SECONDS)
_real_exit = os._exit
# os._exit is the C function of the platform's module (posix or nt); code that calls it under
# that name would bypass a patch of os alone.
_EXIT_HOLDERS = [os, *(sys.modules[name] for name in ("posix", "nt") if name in sys.modules)]
_active = 0  # how many publisher_code blocks are running (they can nest)


class _Stopped(BaseException):
    """Raised inside publisher code: its time is up, or it called ``os._exit``.

    A BaseException, so ``except Exception`` in publisher code does not swallow it.
    """

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Publisher code run inside this block gets ``seconds`` per run (default 1800)."""
    token = _LIMIT.set(seconds)
    try:
        yield
    finally:
        _LIMIT.reset(token)


def _exit_instead(status: int = 0) -> NoReturn:
    if _active:
        raise _Stopped(f"called os._exit({status})")
    _real_exit(status)


@contextlib.contextmanager
def publisher_code(what: str, source: str | None = None) -> Iterator[None]:
    """Run publisher code (``what`` names it in errors): stdout to stderr, no process exits,
    a time limit. SystemExit, ``os._exit`` and the limit become a PublisherCodeError at the
    publisher's line, else naming ``source`` (its file)."""
    global _active
    limit = _LIMIT.get()
    outermost = _active == 0
    _active += 1
    try:
        with contextlib.ExitStack() as stack:
            if outermost:
                stack.enter_context(_stdout_to_stderr())
                stack.enter_context(_stopped_after(limit, what))
                for holder in _EXIT_HOLDERS:
                    holder._exit = _exit_instead  # type: ignore[attr-defined]
                    stack.callback(setattr, holder, "_exit", _real_exit)
            try:
                yield
            except Terminated:
                raise  # hubpub itself was asked to stop (SIGTERM)
            except SystemExit as exc:
                raise _located(exc, source, f"{what} called sys.exit({exc.code!r}): publisher "
                               f"code must return or raise an exception, not end hubpub") from None
            except _Stopped as exc:
                if exc.why == "timeout":
                    raise _located(exc, source, f"{what} did not finish within {limit:g} s and "
                                   f"was stopped; if it is just slow, raise the limit with "
                                   f"--timeout SECONDS") from None
                raise _located(exc, source, f"{what} {exc.why}: publisher code must return or "
                               f"raise an exception, not end hubpub") from None
    finally:
        _active -= 1


def _located(exc: BaseException, source: str | None, message: str) -> PublisherCodeError:
    where = publisher_frame(exc)
    if where is None:
        return PublisherCodeError(message, path=source)
    return PublisherCodeError(message, path=where[0], line=where[1])


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """sys.stdout and file descriptor 1 both write to stderr inside the block."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or odd stream: nothing to flush
            stream.flush()
    try:
        stderr_fd = sys.stderr.fileno()  # Python's stderr: the CLI sends fd 2 to /dev/null
    except (AttributeError, OSError, ValueError):  # not a real file (tests capture it)
        stderr_fd = 2
    saved: int | None = None
    with contextlib.suppress(OSError):  # no fd 1 (stdout closed): nothing native can corrupt
        saved = os.dup(1)
        try:
            os.dup2(stderr_fd, 1)
        except OSError:
            os.close(saved)
            saved = None
    previous, sys.stdout = sys.stdout, sys.stderr
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        sys.stdout = previous
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


@contextlib.contextmanager
def _stopped_after(limit: float, what: str) -> Iterator[None]:
    """Interrupt the block after ``limit`` seconds; end the process if that does not work."""
    done = threading.Event()

    def hard_stop() -> None:
        if not done.wait(limit + HARD_STOP_GRACE_SECONDS):
            os.write(2, f"hubpub: error: {what} did not finish within {limit:g} s and could "
                        f"not be interrupted; stopping (raise the limit with --timeout "
                        f"SECONDS)\n".encode())
            _real_exit(2)

    threading.Thread(target=hard_stop, name="hubpub-time-limit", daemon=True).start()
    use_signal = (threading.current_thread() is threading.main_thread()
                  and hasattr(signal, "setitimer"))
    if use_signal:
        def on_alarm(signum: int, frame: Any) -> None:
            raise _Stopped("timeout")

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        done.set()
        if use_signal:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def import_callable(ref: str, folder: Path, *, what: str = "module_fn") -> Callable[..., Any]:
    """``file.py:fn`` (relative to ``folder``) or ``pkg.mod:fn`` -> the callable."""
    import hubpub._tf  # noqa: F401  (TF_USE_LEGACY_KERAS=1 before publisher code imports TF)

    target, _, name = ref.rpartition(":")
    try:
        source = str((folder / target).resolve()) if target.endswith(".py") else target
        with publisher_code(f"importing {what} '{ref}'", source):
            module = _import(target, folder, what)
    except PublisherCodeError:
        raise
    except Exception as exc:  # publisher code: any error becomes a clear, located message
        raise wrap_publisher_error(exc, f"importing {what} '{ref}' failed") from exc
    func = getattr(module, name, None)
    if not callable(func):
        raise PublisherCodeError(f"{what} '{ref}': '{name}' is not a function in {target}")
    return func


def _import(target: str, folder: Path, what: str) -> Any:
    if target.endswith(".py"):
        path = (folder / target).resolve()
        module_name = f"_hubpub_publisher_{abs(hash(str(path)))}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise PublisherCodeError(f"cannot import {what} file {path}", path=str(path))
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        if str(path.parent) not in sys.path:
            sys.path.insert(0, str(path.parent))  # so module_fn files can import siblings
        spec.loader.exec_module(module)
        return module
    return importlib.import_module(target)


def publisher_frame(exc: BaseException) -> tuple[str, int] | None:
    """The innermost traceback frame outside TensorFlow, Keras, hubpub and the stdlib."""
    from hubpub.spec.authoring import is_publisher_file

    frames = traceback.extract_tb(exc.__traceback__)
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        return exc.filename, exc.lineno
    for frame in reversed(frames):
        if is_publisher_file(frame.filename):
            return frame.filename, frame.lineno or 0
    return None


def wrap_publisher_error(exc: BaseException, doing: str) -> PublisherCodeError:
    where = publisher_frame(exc)
    message = f"{doing}: {type(exc).__name__}: {exc}"
    if "not available with Keras 3" in str(exc):
        from hubpub._tf import legacy_keras_problem

        message += f" ({legacy_keras_problem() or 'set TF_USE_LEGACY_KERAS=1'})"
    if where:
        return PublisherCodeError(message, path=where[0], line=where[1])
    return PublisherCodeError(message)
