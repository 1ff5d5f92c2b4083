"""Confining a child process that runs a module: it reads and writes only what it must.

Everything that runs a module (the smoke test, ``convert``, ``diff --numeric``, ``validate``)
runs it in a child process. The child starts with its working directory, HOME and TMPDIR in
a fresh private folder (``child_env``), and confines itself (``confine`` or
``confine_from_env``) before it imports TensorFlow or reads the module:

* Linux with Landlock (kernel 5.13+, enabled in the kernel's LSM list): the process and
  everything it starts can create, write, truncate, rename or delete files only beneath the
  private folder and the folders it was given to write (a conversion's output), and write
  to ``/dev/null``. It can read (and execute) only the private folder, the module's folders
  it was given, and what Python and TensorFlow need to run: the interpreter's installation
  and ``sys.path``, ``/usr``, ``/lib*``, ``/bin``, ``/etc``, ``/proc``, ``/sys`` and
  ``/dev``. From Landlock ABI 4 (kernel 6.7) it cannot open or accept TCP connections
  either, and from ABI 6 (kernel 6.12) it cannot signal processes outside itself.
* elsewhere (other systems, older kernels, Landlock disabled): only the working directory,
  HOME and TMPDIR are redirected; ``confine`` says why nothing more was possible.

Landlock is reached through its three system calls with ``ctypes``: no dependency, no
privileges. Restricting applies to the calling thread and to the threads and processes it
creates afterwards, so ``confine`` must run before anything starts threads.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import platform
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["SANDBOX_ENV", "child_env", "confine", "confine_from_env", "system_read_roots"]

SANDBOX_ENV = "HUBPUB_SANDBOX"  # the child's private folder, set by ``child_env``
READ_ENV = "HUBPUB_SANDBOX_READ"  # more folders it may read (the module), os.pathsep-joined
WRITE_ENV = "HUBPUB_SANDBOX_WRITE"  # more folders it may write (a conversion's output)
# What Python, NumPy and TensorFlow read to start and run: libraries, the dynamic loader's
# cache, time zones, CPU facts (/proc, /sys), /dev/urandom.
_SYSTEM_ROOTS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/proc", "/sys",
                 "/dev")

# System call numbers: the same on every architecture that uses the generic table.
_SYSCALLS = {"create_ruleset": 444, "add_rule": 445, "restrict_self": 446}
_MACHINES = frozenset({"x86_64", "amd64", "aarch64", "arm64", "riscv64", "ppc64le", "s390x"})
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# LANDLOCK_ACCESS_FS_*: reading and executing, and everything that creates, changes or
# removes a file or folder.
_EXECUTE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 2, 1 << 3
_READ = _EXECUTE | _READ_FILE | _READ_DIR
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


def child_env(folder: Path, env: dict[str, str] | None = None, *,
              readable: Sequence[Path] = (), writable: Sequence[Path] = ()) -> dict[str, str]:
    """The environment of a confined child: HOME and the temp folders are ``folder``;
    ``readable`` (the module) and ``writable`` (an output folder) are what it may use besides.

    Relative ``PYTHONPATH`` entries are made absolute: the child runs in ``folder``.
    """
    env = dict(os.environ if env is None else env)
    for key in ("HOME", "TMPDIR", "TMP", "TEMP", "USERPROFILE", SANDBOX_ENV):
        env[key] = str(folder)
    env[READ_ENV] = os.pathsep.join(str(Path(p).resolve()) for p in readable)
    env[WRITE_ENV] = os.pathsep.join(str(Path(p).resolve()) for p in writable)
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(
            str(Path(p).resolve()) if p else p for p in env["PYTHONPATH"].split(os.pathsep))
    return env


def confine_from_env() -> str:
    """In a child started with ``child_env``: ``confine`` as its environment says; "" when it
    was started without one (a library caller running the child's code itself)."""
    folder = os.environ.get(SANDBOX_ENV)
    if not folder:
        return ""

    def paths(name: str) -> list[Path]:
        return [Path(p) for p in os.environ.get(name, "").split(os.pathsep) if p]

    return confine(folder, readable=paths(READ_ENV), writable=paths(WRITE_ENV))


def system_read_roots() -> list[Path]:
    """What a confined child may read besides its folders: Python's installation and
    ``sys.path``, hubpub's own packages, and the system's libraries and pseudo-filesystems."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, *_SYSTEM_ROOTS}
    roots.update(p for p in sys.path if p)
    roots.update(_hubpub_folders())
    return sorted(Path(p) for p in roots if os.path.exists(p))


def _hubpub_folders() -> list[str]:
    """Where hubpub's packages live. An editable install (``pip install -e``) maps them from
    the source tree through an import hook, outside ``sys.path``."""
    folders: list[str] = []
    for name in ("hubpub", "hubpub.signatures", "hubpub.templates"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            folders.extend(spec.submodule_search_locations)
    return folders


def confine(folder: str | Path, *, readable: Sequence[Path] = (),
            writable: Sequence[Path] = ()) -> str:
    """Let this process write only beneath ``folder`` and ``writable``, and read only those,
    ``readable`` and ``system_read_roots()``; returns what the confinement is.

    Never raises: where the platform allows no more, the working directory is ``folder`` and
    the returned text says why reads and writes elsewhere are not blocked.
    """
    folder = Path(folder).resolve()
    os.chdir(folder)
    base = "working directory, HOME and TMPDIR in a private folder"
    if sys.platform != "linux" or platform.machine().lower() not in _MACHINES:
        return f"{base} (reads and writes elsewhere are not blocked on {sys.platform})"
    try:
        abi = _landlock(folder, [Path(p) for p in readable], [Path(p) for p in writable])
    except OSError as exc:
        return f"{base} (Landlock unavailable: {exc.strerror or exc}; reads and writes " \
               f"elsewhere are not blocked)"
    extra = "; no TCP connections" if abi >= 4 else ""
    return (f"{base}; Landlock ABI {abi}: writes only inside that folder and the output, "
            f"reads only there, in the module and in the system's libraries{extra}")


def _landlock(folder: Path, readable: list[Path], writable: list[Path]) -> int:
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
    handled = _READ | _WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE
    handled |= (_REFER if abi >= 2 else 0) | (_TRUNCATE if abi >= 3 else 0)
    attr = _RulesetAttr(handled, _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0,
                        _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8  # the struct grew with the ABI
    ruleset = call("create_ruleset", ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    file_read = _EXECUTE | _READ_FILE
    file_write = _WRITE_FILE | (_TRUNCATE if abi >= 3 else 0)
    rules = [(root, _READ) for root in [*system_read_roots(), *readable]]
    rules += [(path, handled) for path in [folder, *writable]]
    rules.append((Path("/dev/null"), file_read | file_write))
    try:
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except FileNotFoundError:
                continue  # nothing there to allow
            try:
                if not stat.S_ISDIR(os.fstat(fd).st_mode):
                    rights &= file_read | file_write  # a file takes file rights only
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
