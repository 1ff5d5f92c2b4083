"""Keep TensorFlow's start-up chatter out of the CLI's output.

TensorFlow's C++ runtime logs to file descriptor 2 before its log settings apply (oneDNN,
CUDA probing), its Python side logs TF1 deprecation notices, and `tf.compat.v1.layers`
warns on every call. None of it is actionable for a publisher running hubpub, and it buries
hubpub's own messages. Set HUBPUB_DEBUG=1 to see everything.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

__all__ = ["quiet_tensorflow"]


def quiet_tensorflow() -> None:
    """Silence native stderr writes and TF's deprecation noise; Python's stderr stays."""
    if os.environ.get("HUBPUB_DEBUG") or "importtime" in sys._xoptions:
        return  # asked for everything, or profiling imports (-X importtime writes to fd 2)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r"`tf\.layers\.\w+` is deprecated")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        stderr_fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (tests capture it)
        return
    # Python keeps writing to the real stderr through a duplicate; descriptor 2 itself, where
    # native code writes, goes to /dev/null.
    keep = os.dup(stderr_fd)
    sys.stderr.flush()
    sys.stderr = os.fdopen(keep, "w", buffering=1, encoding=sys.stderr.encoding,
                           errors="backslashreplace")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, stderr_fd)
    os.close(devnull)
