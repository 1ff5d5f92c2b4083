"""The reviewed list of ops (op_snapshots/op_effects.json) covers the installed TensorFlow.

The alarm for a new TensorFlow version: an op its registry holds that the list lacks, or that
nobody reviewed, would stop every module using it from running. Read in a fresh interpreter
that imported TensorFlow alone (ops of libraries such as tensorflow_text are not TensorFlow's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hubpub.spec.op_effects import PURE, op_effects
from hubpub.spec.op_registry import snapshot_registry, snapshot_versions

LIVE_OPS = ("import json; from hubpub.spec.op_registry import registered_ops; "
            "print(json.dumps(sorted(op.name for op in registered_ops()[1])))")
EFFECTS = {PURE, "file", "network", "process", "debug"}


def test_every_op_of_the_installed_tensorflow_is_reviewed():
    done = subprocess.run([sys.executable, "-c", LIVE_OPS], capture_output=True, text=True,
                          check=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    effects = op_effects()
    missing = [op for op in json.loads(done.stdout) if not effects.classified(op)]
    assert not missing, ("ops of the installed TensorFlow missing from op_effects.json or not "
                         f"reviewed: run tools/classify_ops.py and review them: {missing}")


def test_every_op_of_every_snapshot_is_reviewed_with_a_known_effect():
    effects = op_effects()
    for version in snapshot_versions():
        registry = snapshot_registry(version)
        assert registry is not None
        assert [op for op in sorted(registry.ops) if not effects.classified(op)] == [], version
    assert {entry["effect"] for entry in effects.ops.values()} <= EFFECTS
    for entry in effects.ops.values():
        assert {rule["effect"] for rule in entry.get("attrs", {}).values()} <= EFFECTS - {PURE}


def test_ops_that_touch_files_or_processes_are_not_pure():
    effects = op_effects().ops
    for op in ("ReadFile", "WriteFile", "SaveV2", "RestoreV2", "TFRecordDataset", "PyFunc",
               "EagerPyFunc", "DebugIdentityV2", "CreateSummaryFileWriter", "MatchingFiles"):
        assert effects[op]["effect"] != PURE, op
    for op in ("MatMul", "VarHandleOp", "HashTableV2", "While", "StatefulPartitionedCall",
               "RandomUniform", "StringSplitV2", "Snapshot", "RegexReplace"):
        assert effects[op]["effect"] == PURE, op
