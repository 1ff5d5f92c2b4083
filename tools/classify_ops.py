"""Propose an effect for every TensorFlow op that hubpub's reviewed classification lacks.

    python tools/classify_ops.py            # add proposals to hubpub/spec/op_snapshots/op_effects.json
    python tools/classify_ops.py --check    # list unclassified and unreviewed ops; exit 1 if any

The ops are the union of the shipped registry snapshots (``op_snapshots/tensorflow-X.Y.json``)
and, when TensorFlow is installed, its live registry, whose ``OpDef``s give the facts a
proposal uses (stateful, attributes such as ``filename`` or ``shared_name``, inputs named
``filename``). Ops already classified are never changed. Each new entry is written with
``"reviewed": false`` and a ``"why"`` naming the rule that proposed it: a person reads every
proposal (``--check`` lists them), corrects the effect, and sets ``"reviewed": true``. hubpub
runs only ops whose reviewed effect is ``pure`` (see README, "Security").

Run it in a fresh interpreter where nothing but TensorFlow is imported, as
``tools/snapshot_op_registry.py``: ops of op libraries are not TensorFlow's.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SNAPSHOTS = REPO / "hubpub" / "spec" / "op_snapshots"
EFFECTS = SNAPSHOTS / "op_effects.json"

# (effect, name pattern, why): the first match wins. Patterns are searched in the op name.
NAME_RULES: tuple[tuple[str, str, str], ...] = (
    ("process", r"^(PyFunc|PyFuncStateless|EagerPyFunc)$", "runs Python code outside the graph"),
    ("process", r"^Abort$", "ends the process"),
    ("process", r"CustomCall", "calls a native function registered by name"),
    ("debug", r"^Debug(Identity|NanCount|NumericSummary)", "a tfdbg op: writes to debug_urls"),
    ("network", r"Rpc|Socket|DataService|RegisterDataset|^Collective|Nccl|^_?(Host)?(Send|Recv)"
                r"|^_?Ref(Send|Recv)|RemoteCall|^Xla(Send|Recv)|^_Xla(Send|Recv)|HostCompute"
                r"|BigQuery|Infeed|Outfeed|TPUEmbedding|DistributedTPU|GlobalTPU|TPUHost"
                r"|AllToAll|AllReduce|AllGather|ReduceScatter|TPUSystem|WorkerHeartbeat",
     "talks to other processes, hosts or devices"),
    ("file", r"Summary(File|Db)?Writer|^Write\w*Summary$|^ImportEvent$",
     "writes summary files"),
    ("file", r"Reader(V2)?$|^ReaderRead|TFRecord|TextLine|FixedLengthRecord|CSVDataset|LMDB|Sql"
             r"|MatchingFiles|ReadFile|WriteFile|^Save|^Restore|MergeV2Checkpoints|Snapshot\w*(Dataset|Reader)"
             r"|LoadDataset|^CacheDataset|ImmutableConst|TextFile|Checkpoint|Vocab|Skipgram"
             r"|LoadAndRemap|FileSystem|DistributedSave|SnapshotChunk",
     "reads or writes files"),
)
# Attribute and input names that name a file or a place outside the process.
FILE_ATTRS = frozenset({"filename", "file_pattern", "filenames", "dump_root", "debug_urls",
                        "descriptor_source", "output_stream", "logdir", "path", "prefix",
                        "vocab_file", "output_file_path", "log_dir_path", "file_name"})
FILE_INPUTS = frozenset({"filename", "filenames", "file_pattern", "prefix", "path", "logdir",
                         "filename_tensor", "shard_dirs"})


def snapshot_ops() -> tuple[set[str], set[str]]:
    """Every op in the shipped snapshots, and those any snapshot marks stateful."""
    ops: set[str] = set()
    stateful: set[str] = set()
    for path in sorted(SNAPSHOTS.glob("tensorflow-*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        ops |= set(data["ops"])
        stateful |= set(data["stateful"])
    return ops, stateful


def live_op_defs() -> dict[str, Any]:
    """The installed TensorFlow's OpDefs by name, or {} without TensorFlow."""
    sys.path.insert(0, str(REPO))
    try:
        from hubpub.spec.op_registry import registered_ops

        return {op.name: op for op in registered_ops()[1]}
    except ImportError:
        return {}


def propose(name: str, stateful: bool, op_def: Any | None) -> dict[str, Any]:
    """The proposed entry for one op, with the rule that proposed it."""
    for effect, pattern, why in NAME_RULES:
        if re.search(pattern, name):
            return {"effect": effect, "reviewed": False, "why": f"name: {why}"}
    if op_def is not None:
        attrs = sorted(FILE_ATTRS & {a.name for a in op_def.attr})
        inputs = sorted(FILE_INPUTS & {a.name for a in op_def.input_arg})
        if attrs or inputs:
            return {"effect": "file", "reviewed": False,
                    "why": f"op def: attributes {attrs}, inputs {inputs} may name files"}
    why = "no rule matched" + ("; stateful: check what state it touches" if stateful else "")
    return {"effect": "pure", "reviewed": False, "why": why}


def load() -> dict[str, Any]:
    if EFFECTS.is_file():
        return json.loads(EFFECTS.read_text(encoding="utf-8"))
    return {"format": 1, "ops": {}}


def dump(data: dict[str, Any]) -> str:
    """One op per line, sorted, so that a review is a readable diff."""
    lines = [f"  {json.dumps(name)}: {json.dumps(entry, sort_keys=True)}"
             for name, entry in sorted(data["ops"].items())]
    head = {key: value for key, value in data.items() if key != "ops"}
    text = json.dumps(head, indent=2, sort_keys=True)[:-2]
    return text + ',\n  "ops": {\n' + ",\n".join("  " + line for line in lines) + "\n  }\n}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="list unclassified and unreviewed ops; exit 1 if any")
    args = parser.parse_args()
    ops, stateful = snapshot_ops()
    defs = live_op_defs()
    ops |= set(defs)
    stateful |= {name for name, op_def in defs.items() if op_def.is_stateful}
    data = load()
    missing = sorted(ops - set(data["ops"]))
    if args.check:
        unreviewed = sorted(n for n, e in data["ops"].items() if not e.get("reviewed"))
        for name in missing:
            print(f"unclassified: {name}")
        for name in unreviewed:
            print(f"unreviewed: {name} ({data['ops'][name]['effect']})")
        return 1 if missing or unreviewed else 0
    for name in missing:
        data["ops"][name] = propose(name, name in stateful, defs.get(name))
    EFFECTS.write_text(dump(data), encoding="utf-8")
    print(f"{EFFECTS}: {len(missing)} proposals to review, {len(data['ops'])} ops")
    return 0


if __name__ == "__main__":
    sys.exit(main())
