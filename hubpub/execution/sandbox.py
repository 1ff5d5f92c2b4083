"""Confining a child process that runs a module: it may write only inside its private folder.

The smoke test loads and runs a module that came from someone else. Its child process starts
with its working directory, HOME and TMPDIR in a fresh private folder (``child_env``), and
confines itself (``confine``) before it imports TensorFlow or reads the module:

* Linux with Landlock (kernel 5.13+, enabled in the kernel's LSM list): the process and
  everything it starts can create, write, truncate, rename or delete files only beneath the
  private folder (and write to ``/dev/null``); reading is not restricted. From Landlock ABI 4
  (kernel 6.7) it cannot open or accept TCP connections either, and from ABI 6 (kernel 6.12)
  it cannot signal processes outside itself.
* elsewhere (other systems, older kernels, Landlock disabled): only the working directory,
  HOME and TMPDIR are redirected; ``confine`` says why nothing more was possible.

Landlock is reached through its three system calls with ``ctypes``: no dependency, no
privileges. Restricting applies to the calling thread and to the threads and processes it
creates afterwards, so ``confine`` must run before anything starts threads.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from pathlib import Path

__all__ = ["SANDBOX_ENV", "child_env", "confine"]

SANDBOX_ENV = "HUBPUB_SANDBOX"  # the child's private folder, set by ``child_env``

# System call numbers: the same on every architecture that uses the generic table.
_SYSCALLS = {"create_ruleset": 444, "add_rule": 445, "restrict_self": 446}
_MACHINES = frozenset({"x86_64", "amd64", "aarch64", "arm64", "riscv64", "ppc64le", "s390x"})
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# LANDLOCK_ACCESS_FS_*: everything that creates, changes or removes a file or folder.
_WRITE_FILE, _REMOVE_DIR, _REMOVE_FILE = 1 << 1, 1 << 4, 1 << 5
_MAKE = sum(1 << bit for bit in range(6, 13))  # char, dir, reg, sock, fifo, block, sym
_REFER, _TRUNCATE = 1 << 13, 1 << 14  # ABI 2, ABI 3
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def child_env(folder: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a confined child: HOME and the temp folders are ``folder``.

    Relative ``PYTHONPATH`` entries are made absolute: the child runs in ``folder``.
    """
    env = dict(os.environ if env is None else env)
    for key in ("HOME", "TMPDIR", "TMP", "TEMP", "USERPROFILE", SANDBOX_ENV):
        env[key] = str(folder)
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(
            str(Path(p).resolve()) if p else p for p in env["PYTHONPATH"].split(os.pathsep))
    return env


def confine(folder: str | Path) -> str:
    """Let this process write only beneath ``folder``; returns what the confinement is.

    Never raises: where the platform allows no more, the working directory is ``folder`` and
    the returned text says why writes elsewhere are not blocked.
    """
    folder = Path(folder).resolve()
    os.chdir(folder)
    base = "working directory, HOME and TMPDIR in a private folder"
    if sys.platform != "linux" or platform.machine().lower() not in _MACHINES:
        return f"{base} (writes elsewhere are not blocked on {sys.platform})"
    try:
        abi = _landlock(folder)
    except OSError as exc:
        return f"{base} (Landlock unavailable: {exc.strerror or exc}; writes elsewhere are " \
               f"not blocked)"
    extra = "; no TCP connections" if abi >= 4 else ""
    return f"{base}; Landlock ABI {abi}: writes only inside that folder{extra}"


def _landlock(folder: Path) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    syscall = libc.syscall
    syscall.restype = ctypes.c_long

    def call(name: str, *args: object) -> int:
        result = syscall(ctypes.c_long(_SYSCALLS[name]), *args)
        if result < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"landlock_{name}: {os.strerror(errno)}")
        return int(result)

    abi = call("create_ruleset", None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    handled = _WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE
    handled |= (_REFER if abi >= 2 else 0) | (_TRUNCATE if abi >= 3 else 0)
    attr = _RulesetAttr(handled, _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0,
                        _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8  # the struct grew with the ABI
    ruleset = call("create_ruleset", ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    try:
        file_rights = _WRITE_FILE | (_TRUNCATE if abi >= 3 else 0)
        for path, rights in ((folder, handled), (Path("/dev/null"), file_rights)):
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = _PathBeneathAttr(rights, fd)
                call("add_rule", ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                     ctypes.byref(rule), ctypes.c_uint32(0))
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(errno)}")
        call("restrict_self", ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    return abi
