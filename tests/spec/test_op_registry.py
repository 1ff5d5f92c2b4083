"""The op-registry snapshots: they match TensorFlow's own registry and answer without it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hubpub.spec.op_registry import (
    installed_tensorflow_version,
    live_registry,
    snapshot_registry,
    snapshot_versions,
)
from tests.fixture_paths import REPO


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.slow
def test_the_snapshot_of_the_installed_tensorflow_is_its_registry():
    """A new TensorFlow release that adds or drops ops fails here until its snapshot is written."""
    version = installed_tensorflow_version()
    assert version is not None
    shipped = snapshot_registry(version)
    assert shipped is not None, (
        f"no op-registry snapshot for TensorFlow {version}: run "
        f"`python tools/snapshot_op_registry.py` and commit the file")
    fresh = json.loads(subprocess.run(
        [sys.executable, str(REPO / "tools" / "snapshot_op_registry.py"), "--stdout"],
        capture_output=True, text=True, timeout=300, check=True).stdout)
    assert fresh["tensorflow"] == shipped.tensorflow
    assert sorted(shipped.ops) == fresh["ops"]
    assert sorted(shipped.stateful) == fresh["stateful"]


def test_each_shipped_snapshot_is_well_formed():
    versions = snapshot_versions()
    assert versions, "no snapshot shipped"
    for version in versions:
        registry = snapshot_registry(version)
        assert registry is not None and registry.tensorflow.startswith(version + ".")
        assert {"MatMul", "Placeholder", "VarHandleOp"} <= registry.ops
        assert registry.stateful < registry.ops
        assert registry.is_stateful("VarHandleOp") and not registry.is_stateful("MatMul")


def test_a_version_without_a_snapshot_has_none():
    assert snapshot_registry("1.15.0") is None


@pytest.mark.slow
def test_the_registry_answers_without_importing_tensorflow():
    out = _run("import sys\n"
               "from hubpub.spec.op_registry import op_registry\n"
               "registry = op_registry()\n"
               "print(registry.knows('MatMul'), registry.knows('ZeroOut'), "
               "'tensorflow' in sys.modules)\n"
               "print(registry.source)")
    first, source = out.splitlines()
    assert first == "True False False"
    assert source.startswith("hubpub's snapshot of TensorFlow ")


@pytest.mark.slow
def test_with_tensorflow_imported_the_live_registry_answers():
    """Ops registered in this process (an op library) are known only to the live registry."""
    out = _run("import hubpub._tf\n"
               "from hubpub.spec.op_registry import op_registry\n"
               "print(op_registry().source)")
    assert out.strip().endswith("loaded in this process")


def test_the_live_registry_holds_every_snapshot_op():
    live = live_registry()  # the test process may hold more ops (op libraries); never fewer
    shipped = snapshot_registry(live.tensorflow)
    assert shipped is not None
    assert shipped.ops <= live.ops
