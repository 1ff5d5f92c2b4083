"""Class 4 of hostile input: what runs is allowed by a reviewed list, not spared by a denylist.

Each module is the real half_plus_two with one node spliced into what its signature computes:
a tfdbg op writing to a ``file://`` debug URL, a ``DecodeProtoV2`` reading its descriptors
from a file, or an op the reviewed list lacks (a test classification without ``Mul``, as a
new TensorFlow op would be). ``validate``, ``convert`` and ``diff --numeric`` refuse each one
before anything runs (nothing is written), and ``lint`` reports it as HUB301.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from tests.hostile.conftest import copy_module

# Splices a node between `mul` and `add` (the signature's output): argv = path, op, attrs JSON.
SPLICE = """
import json, sys
from tensorflow.core.protobuf.saved_model_pb2 import SavedModel
path, op, attrs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
saved_model = SavedModel.FromString(open(path, "rb").read())
graph = saved_model.meta_graphs[0].graph_def
node = graph.node.add()
node.name, node.op = "spliced", op
node.input.append("mul")
node.attr["T"].type = 1  # float
for key, value in attrs.items():
    if isinstance(value, list):
        node.attr[key].list.s.extend(v.encode() for v in value)
    else:
        node.attr[key].s = value.encode()
add = next(n for n in graph.node if n.name == "add")
add.input.append("^spliced")
open(path, "wb").write(saved_model.SerializeToString())
"""


def _splice(module: Path, op: str, attrs: dict[str, object]) -> Path:
    subprocess.run([sys.executable, "-c", SPLICE, str(module / "saved_model.pb"), op,
                    json.dumps(attrs)], check=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    return module


@pytest.fixture(scope="module")
def hostile(module_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hostile_ops")
    sink = root / "sink"  # where the ops would write or read, if they ran
    return {
        "debug_v1": _splice(copy_module(module_dir, root / "debug_v1"), "DebugIdentity",
                            {"debug_urls": [f"file://{sink}/v1"]}),
        "debug_v2": _splice(copy_module(module_dir, root / "debug_v2"), "DebugIdentityV2",
                            {"debug_urls": [f"file://{sink}/v2"]}),
        "decode_proto": _splice(copy_module(module_dir, root / "decode_proto"), "DecodeProtoV2",
                                {"descriptor_source": f"{sink}/descriptors.pb",
                                 "message_type": "hubpub.Probe"}),
        "sink": sink,
    }


EXPECTED = {
    "debug_v1": "op DebugIdentity (node 'spliced') runs when signature 'default' is called: it "
                "writes to a debug sink",
    "debug_v2": "op DebugIdentityV2 (node 'spliced') runs when signature 'default' is called: "
                "it writes to a debug sink",
    "decode_proto": "op DecodeProtoV2 (node 'spliced') runs when signature 'default' is called: "
                    "it reads or writes files at run time (descriptor_source '",
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_lint_reports_ops_that_write_or_read_through_attributes(hubpub, hostile, case):
    run = hubpub("lint", hostile[case], "--select", "HUB301", timeout=120)
    assert run.code == 1, run.err
    assert "HUB301" in run.out and EXPECTED[case] in run.out, run.out


def _refused_everywhere(hubpub, clean: Path, module: Path, tmp_path: Path, *,
                        env: dict[str, str] | None = None) -> list[str]:
    """validate, convert and diff --numeric on ``module``: each refuses before running it;
    the outputs, for the caller to check they name the op."""
    outputs = []
    run = hubpub("validate", module, env=env, timeout=120)
    assert run.code == 1, run.err
    assert "smoke test refused: hubpub does not run a module with unsafe or unknown ops" in run.out
    outputs.append(run.out)
    run = hubpub("convert", module, tmp_path / "converted", env=env, timeout=120)
    assert run.code == 1, (run.out, run.err)  # a refusal is a finding (CheckFailure)
    assert "conversion refused" in run.err and not (tmp_path / "converted").exists()
    outputs.append(run.err)
    run = hubpub("diff", "--numeric", clean, module, env=env, timeout=120)
    assert run.code == 1, (run.out, run.err)
    assert "--numeric refused" in run.err
    outputs.append(run.err)
    return outputs


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_commands_that_run_a_module_refuse_before_anything_runs(hubpub, hostile, module_dir,
                                                                 tmp_path, case):
    for output in _refused_everywhere(hubpub, module_dir, hostile[case], tmp_path):
        assert "HUB301 " + EXPECTED[case] in output, output
    assert not hostile["sink"].exists()  # nothing was written where the op points


@pytest.fixture(scope="module")
def without_mul(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A classification where `Mul` is missing: what an op new in a TensorFlow version is."""
    resource = resources.files("hubpub.spec.op_snapshots").joinpath("op_effects.json")
    data = json.loads(resource.read_text(encoding="utf-8"))
    del data["ops"]["Mul"]
    path = tmp_path_factory.mktemp("classification") / "op_effects.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.slow
def test_an_op_missing_from_the_reviewed_list_does_not_run(hubpub, module_dir, without_mul,
                                                           tmp_path):
    env = {"HUBPUB_OP_EFFECTS": str(without_mul)}
    expected = f"it is not on the reviewed list of ops in {without_mul} for TensorFlow"
    for output in _refused_everywhere(hubpub, module_dir, module_dir, tmp_path, env=env):
        assert "(HUB301 op Mul (node '" in output and expected in output, output
    run = hubpub("lint", module_dir, "--select", "HUB301", env=env, timeout=120)
    assert run.code == 1, run.out
    assert ("op Mul (node 'mul') runs when signature 'default' is called: " + expected
            in run.out), run.out
    run = hubpub("lint", module_dir, "--select", "HUB301", "--option", "HUB301.allow=Mul",
                 env=env, timeout=120)
    assert run.code == 0, run.out
