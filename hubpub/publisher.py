"""Importing the publisher's code (module_fn, hooks) and blaming its own lines for failures."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hubpub.errors import PublisherCodeError

__all__ = ["import_callable", "publisher_frame", "wrap_publisher_error"]


def import_callable(ref: str, folder: Path, *, what: str = "module_fn") -> Callable[..., Any]:
    """``file.py:fn`` (relative to ``folder``) or ``pkg.mod:fn`` -> the callable."""
    import hubpub._tf  # noqa: F401  (TF_USE_LEGACY_KERAS=1 before publisher code imports TF)

    target, _, name = ref.rpartition(":")
    try:
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
        else:
            module = importlib.import_module(target)
    except PublisherCodeError:
        raise
    except Exception as exc:  # publisher code: any error becomes a clear, located message
        raise wrap_publisher_error(exc, f"importing {what} '{ref}' failed") from exc
    func = getattr(module, name, None)
    if not callable(func):
        raise PublisherCodeError(f"{what} '{ref}': '{name}' is not a function in {target}")
    return func


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
