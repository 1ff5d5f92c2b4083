"""Write the op-registry snapshot of the TensorFlow this interpreter imports.

    python tools/snapshot_op_registry.py            # hubpub/spec/op_snapshots/tensorflow-X.Y.json
    python tools/snapshot_op_registry.py --stdout   # print it instead

Run it in a fresh interpreter where nothing but TensorFlow is imported: ops that op libraries
(tensorflow_text, ...) register are theirs, not TensorFlow's. It needs only TensorFlow, not
hubpub, so it also runs in a virtual environment holding another TensorFlow version.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAPSHOTS = REPO / "hubpub" / "spec" / "op_snapshots"


def snapshot() -> dict:
    sys.path.insert(0, str(REPO))  # hubpub need not be installed in the other version's venv
    from hubpub.spec.op_registry import registered_ops

    version, ops = registered_ops()
    return {
        "format": 1,
        "tensorflow": version,
        "ops": sorted(op.name for op in ops),
        "stateful": sorted(op.name for op in ops if op.is_stateful),
        # Stateful and input-less (variables, tables, queues: a module's state), and ops with
        # a reference-typed output (TF1-only): what HUB502 asks about a node's op.
        "state_ops": sorted(op.name for op in ops if op.is_stateful and not op.input_arg),
        "ref_outputs": sorted(op.name for op in ops if any(a.is_ref for a in op.output_arg)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stdout", action="store_true", help="print instead of writing")
    args = parser.parse_args()
    data = snapshot()
    text = json.dumps(data, indent=0, sort_keys=True) + "\n"
    if args.stdout:
        sys.stdout.write(text)
        return
    major, minor = data["tensorflow"].split(".")[:2]
    target = SNAPSHOTS / f"tensorflow-{major}.{minor}.json"
    target.write_text(text, encoding="utf-8")
    print(f"{target}: {len(data['ops'])} ops, {len(data['stateful'])} stateful")


if __name__ == "__main__":
    main()
