"""The exceptions hubpub raises for input a user can fix.

    HubpubError                     exit code 2: usage or input error
    ├── ManifestError               a manifest is malformed (file:line:col for each problem)
    ├── PublisherCodeError          module_fn could not be imported or raised (its file and line)
    ├── ModuleFormatError           a module on disk is missing a file or is corrupt (ValueError)
    │   └── ArchiveError            a tarball is corrupt, hostile or too large (names the member)
    ├── InputError                  a file the user named (manifest, baseline) cannot be read
    ├── HandleError                 a handle cannot be resolved (OSError)
    ├── SpecError                   a spec or a call breaks the TF1 Hub format's rules (ValueError)
    ├── WeightsError                a checkpoint or weight source does not match the variables
    │   └── EmbeddingFileError      an embedding text file has a malformed line (file:line)
    ├── ExportError                 an export target cannot be written
    ├── ConvertError                a module cannot be converted to a TF2 SavedModel (the node)
    ├── OutputError                 standard output cannot be written (closed, broken pipe, full)
    ├── MissingExtraError           an optional extra is not installed (says how to install it)
    ├── SignatureError              a signature or key cannot be read, or a signature is required
    │                               and is missing or does not match (names the member)
    ├── PublishError                an upload was refused or failed (credentials, owner, version)
    └── CheckFailure                exit code 1: checks or the smoke test found errors

Library callers that used the old ``tensorflow_hub`` API catch ``ValueError``, ``TypeError``,
``KeyError`` and ``IOError``; the classes below also derive from those where the old library
raised them, so ``import hubpub as hub`` keeps that code working.

Anything that is not a HubpubError is a bug in hubpub and keeps its traceback.

``Terminated`` is not an error: the CLI raises it when it gets SIGTERM, to exit through the
normal path (it is a SystemExit that publisher-code guards let through).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ArchiveError",
    "CheckFailure",
    "ConvertError",
    "EmbeddingFileError",
    "ExportError",
    "HandleError",
    "HubpubError",
    "InputError",
    "ManifestError",
    "MissingExtraError",
    "ManifestProblem",
    "ModuleFormatError",
    "OutputError",
    "PublishError",
    "PublisherCodeError",
    "SignatureError",
    "SpecError",
    "Terminated",
    "WeightsError",
    "shortened_name",
]


class HubpubError(Exception):
    """Bad input the user can fix; ``exit_code`` is what the CLI returns for it."""

    exit_code = 2


@dataclass(frozen=True)
class ManifestProblem:
    """One problem in a manifest, with where it is."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class ManifestError(HubpubError):
    """A manifest is malformed; carries every problem found, not only the first."""

    def __init__(self, problems: Sequence[ManifestProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class PublisherCodeError(HubpubError):
    """The publisher's module_fn (or hook) could not be imported or raised an exception."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}: " if path and line else (f"{path}: " if path else "")
        super().__init__(f"{where}{message}")


class ModuleFormatError(HubpubError, ValueError):
    """A module on disk is not a readable TF1 Hub format module."""


class ArchiveError(ModuleFormatError):
    """A tarball is corrupt, hostile (names the member) or unpacks to more than allowed."""

    def __init__(self, message: str, *, member: str | None = None) -> None:
        self.member = member
        self.detail = message  # without the member, for reports that show it on its own
        super().__init__(f"{message} (member '{shortened_name(member)}')" if member else message)


def shortened_name(name: str, keep: int = 200) -> str:
    """A hostile member name made safe to print: at most ``keep`` characters (its two ends,
    and its length), control characters (NUL, escape sequences, newlines) escaped."""
    shown = name if len(name) <= keep else f"{name[: keep // 2]}...{name[-keep // 4:]}"
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown)
    return shown if len(name) <= keep else f"{shown} ({len(name)} characters)"


class InputError(HubpubError):
    """A file the user named is unreadable, not a regular file, too large or not valid text.

    The message starts with ``path:line:column:`` when the place is known, as editors parse.
    """

    def __init__(self, message: str, *, path: str, line: int | None = None,
                 column: int | None = None) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.detail = message
        where = f"{path}:{line}:{column or 1}" if line else path
        super().__init__(f"{where}: {message}")


class HandleError(HubpubError, OSError):
    """A handle does not name an existing module, tarball or URL."""


class SpecError(HubpubError, ValueError):
    """A spec, signature or call breaks the rules of the TF1 Hub format."""


class WeightsError(HubpubError, ValueError):
    """A checkpoint or weight source does not match the module's variables."""


class EmbeddingFileError(WeightsError):
    """An embedding text file cannot be read or has a malformed line (``path:line: message``)."""

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


class ExportError(HubpubError):
    """An export or output target cannot be written."""


class ConvertError(HubpubError):
    """A TF1 Hub module uses something a TF2 Reusable SavedModel cannot express."""


class OutputError(HubpubError):
    """Standard output is closed, a broken pipe or on a full disk: the result never arrived."""


class MissingExtraError(HubpubError):
    """A command needs an optional dependency that is not installed."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(f"{purpose} needs the '{package}' package, which is not installed; "
                         f'install it with: pip install "hubpub[{extra}]"')


class SignatureError(HubpubError):
    """A signature or key cannot be read, or a required signature is missing or invalid."""


class PublishError(HubpubError):
    """Publishing was refused before the upload, or the upload failed."""


class CheckFailure(HubpubError):
    """Checks or the smoke test found errors; ``findings`` holds what the checks found."""

    exit_code = 1

    def __init__(self, message: str, *, findings: Sequence[object] = ()) -> None:
        self.findings = list(findings)
        super().__init__(message)


class Terminated(SystemExit):
    """The process got SIGTERM: unwind (cleaning up) and exit with ``128 + signal``."""
