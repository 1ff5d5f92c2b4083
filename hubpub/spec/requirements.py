"""Op libraries a module needs: the manifest's ``requires:``, recorded in the module.

Some ops exist only once a Python library registers them (``import tensorflow_text``). The
publisher names those libraries; hubpub imports them wherever it loads the module and records
them in every variant as the attachment ``hubpub_requires`` (a JSON list; old consumers
ignore attachments they do not know).

A name recorded in a module that came from elsewhere is imported only when it is a known op
library (``KNOWN_OP_LIBRARIES``): importing any module a downloaded file names would let the
file pick code to run. Consumers (``hub.Module``) import nothing: they get an error naming
the library.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hubpub.errors import SpecError
from hubpub.spec.files import ATTACHMENTS_COLLECTION
from hubpub.spec.protos import ModuleAttachment

__all__ = ["KNOWN_OP_LIBRARIES", "REQUIRES_KEY", "OpLibrary", "attach_requirements",
           "import_requirements", "library_for_op", "missing_library_advice",
           "recorded_requirements"]

REQUIRES_KEY = "hubpub_requires"


@dataclass(frozen=True)
class OpLibrary:
    module: str  # what to import
    package: str  # what to pip install
    op_prefixes: tuple[str, ...]  # op types it registers start with one of these
    op_names: frozenset[str] = frozenset()  # and these, whose names say nothing of it


# What `import tensorflow_text` 2.21 registers besides its "TFText>" ops
# (tests/spec/test_requirements.py compares this with the installed library).
_TENSORFLOW_TEXT_OPS = frozenset({
    "CaseFoldUTF8", "ConstrainedSequence", "FastBertNormalize",
    "FastWordpieceTokenizeWithOffsets", "FindSourceOffsets", "MaxSpanningTree", "NormalizeUTF8",
    "NormalizeUTF8WithOffsetsMap", "PhraseTokenize", "RegexSplitWithOffsets", "RougeL",
    "SentenceFragments", "SentenceFragmentsV2", "SentencepieceDetokenizeOp",
    "SentencepieceIdToStringOp", "SentencepieceOp", "SentencepieceStringToIdOp",
    "SentencepieceTokenizeOp", "SentencepieceTokenizeWithOffsetsOp", "SentencepieceVocabSizeOp",
    "SplitMergeTokenizeWithOffsets", "TokenizerFromLogits", "UnicodeScriptTokenizeWithOffsets",
    "WhitespaceTokenizeWithOffsets", "WordpieceTokenizeWithOffsets",
})

KNOWN_OP_LIBRARIES = (
    OpLibrary("tensorflow_text", "tensorflow-text", ("TFText>",), _TENSORFLOW_TEXT_OPS),
    OpLibrary("tf_sentencepiece", "tf-sentencepiece", ("SentencepieceOp",)),
    OpLibrary("sentencepiece", "sentencepiece", ("Sentencepiece",)),
)
_KNOWN = {library.module: library for library in KNOWN_OP_LIBRARIES}


def library_for_op(op: str) -> OpLibrary | None:
    """The known library that registers op type ``op``, if any."""
    return next((lib for lib in KNOWN_OP_LIBRARIES
                 if op in lib.op_names or op.startswith(lib.op_prefixes)), None)


def missing_library_advice(module: str) -> str:
    """How to get ``module`` installed and imported, in a message's words."""
    library = _KNOWN.get(module)
    package = library.package if library else module.split(".")[0].replace("_", "-")
    return (f"pip install {package} (the version built for your TensorFlow) and import "
            f"{module} before loading the module")


def import_requirements(names: Iterable[str], *, only_known: bool = False) -> list[str]:
    """Import each library (its import registers its ops); the names imported.

    ``only_known``: the names come from a module file, not from the user; import only known
    op libraries and skip the others.

    Raises:
        SpecError: a library is not installed or fails to import; the message says which and
            how to install it.
    """
    done = []
    for name in names:
        if only_known and name not in _KNOWN:
            continue
        try:
            importlib.import_module(name)
        except Exception as exc:  # ImportError, or the library's own failure to load
            raise SpecError(f"the module requires {name}, which cannot be imported "
                            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                            f"): {missing_library_advice(name)}") from exc
        done.append(name)
    return done


def attach_requirements(meta: Any, names: Iterable[str]) -> None:
    """Record ``names`` in a variant's MetaGraphDef (the attachment ``hubpub_requires``)."""
    names = list(names)
    if not names:
        return
    attachment = ModuleAttachment(key=REQUIRES_KEY, value=json.dumps(names).encode())
    meta.collection_def[ATTACHMENTS_COLLECTION].bytes_list.value.append(
        attachment.SerializeToString())


def recorded_requirements(meta_graphs: Iterable[Any]) -> list[str]:
    """The libraries recorded in a module's variants, in order, each once."""
    found: list[str] = []
    for meta in meta_graphs:
        if ATTACHMENTS_COLLECTION not in meta.collection_def:
            continue
        for raw in meta.collection_def[ATTACHMENTS_COLLECTION].bytes_list.value:
            try:
                attachment = ModuleAttachment.FromString(raw)
            except Exception:  # noqa: S112  (a malformed attachment is another check's finding)
                continue
            if attachment.key != REQUIRES_KEY:
                continue
            try:
                names = json.loads(attachment.value)
            except ValueError:
                continue
            found += [n for n in names if isinstance(n, str) and n not in found
                      and n.replace(".", "_").isidentifier()]
    return found
