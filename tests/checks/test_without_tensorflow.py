"""Module directories and tarballs are checked and summarized without TensorFlow, and the
TF-free reading finds exactly what reading TensorFlow's own protos finds.

One corpus of real modules (each rule's triggering module, plus clean ones) is linted twice:
here, from TensorFlow's protos with TensorFlow's live op registry, and in a fresh process that
must never import TensorFlow (lite protos, the shipped op-registry snapshot).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hubpub.checks.config import LintConfig
from hubpub.checks.engine import run_checks
from hubpub.commands.lint import lint_target
from hubpub.docs.summary import summarize
from hubpub.files.archive import safe_extract
from hubpub.spec.files import check_loadable, read_saved_model
from hubpub.spec.view import ModuleView
from tests.checks import modulefns as fns
from tests.checks.lintmodules import pack, raw_saved_model, write_module
from tests.checks.rules import (
    test_hub301_unsafe_ops as hub301,
)
from tests.checks.rules import (
    test_hub302_unknown_ops as hub302,
)
from tests.checks.rules import (
    test_hub303_leaked_paths as hub303,
)
from tests.checks.rules import (
    test_hub402_unsupported_collections as hub402,
)
from tests.checks.rules import (
    test_hub502_tf2_conversion as hub502,
)
from tests.fixture_paths import HALF_PLUS_TWO, REPO

pytestmark = pytest.mark.slow


def _with_custom_op(saved_model):
    """The HUB302 case: a node whose op no TensorFlow registers."""
    edited = type(saved_model)()
    edited.CopyFrom(saved_model)
    graph = edited.meta_graphs[0].graph_def
    next(n for n in graph.node if n.name == "y").op = "ZeroOut"
    graph.library.function[0].node_def[0].op = "ZeroOut"
    return edited


def _saved_model_of(view):
    """The SavedModel of an in-memory view (a module as a plain TF1 exporter wrote it)."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel(saved_model_schema_version=1)
    for variant in view.variants:
        saved_model.meta_graphs.add().CopyFrom(variant.meta_graph)
    return saved_model


def _export(module_fn, path: Path, tags_and_args) -> Path:
    import hubpub as hub

    spec = hub.create_module_spec(module_fn, tags_and_args, drop_collections=["train_op"])
    spec.export(str(path), checkpoint_path=None)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("corpus")
    exported = {
        "dense_l2": (lambda: fns.dense_module(l2=0.01), None),
        "embedding": (fns.embedding_module, None),
        "input_regularizer": (fns.input_regularizer_module, None),
        "batch_norm": (fns.batch_norm_module, fns.train_and_default(momentum=0.9999)),
        "batch_norm_keras_if": (fns.batch_norm_module, fns.train_and_default(
            momentum=0.999, keras=True, as_tensor=True)),
        "dropout_everywhere": (fns.dropout_module, [(set(), {"training": True, "rate": 0.9})]),
        "dropout_keras_if": (fns.dropout_module, fns.train_and_default(keras=True,
                                                                       as_tensor=True)),
        "fed_flag": (fns.fed_flag_dropout_module, None),
        "constant_weights": (fns.constant_weights_module, None),
        "counter": (fns.counter_module, fns.train_and_default()),
        "ftrl": (fns.optimizer_module, [(set(), {
            "optimizer": "FtrlOptimizer", "learning_rate": 0.1,
            "l2_regularization_strength": 0.01})]),
    }
    modules = [_export(fn, folder / name, tags_and_args) for name, (fn, tags_and_args)
               in exported.items()]
    raw = {
        "reads_a_file": raw_saved_model((hub301.reads_a_file, ())),
        "runs_python": raw_saved_model((hub301.runs_python, ())),
        "custom_op": _with_custom_op(raw_saved_model((hub302.graph_with_branches, ()))),
        "path_constant": raw_saved_model((hub303.path_constant, ())),
        "losses_and_summaries": raw_saved_model((hub402.with_losses_and_summaries, ["train"]),
                                                (hub402.plain, [])),
        "ref_variable": raw_saved_model((hub502.ref_variable, ())),
        "sparse_input": raw_saved_model((hub502.sparse_input, ())),
        "keras_batch_norm_raw": _saved_model_of(fns.raw_view(
            fns.batch_norm_module, fns.train_and_default(keras=True))),
    }
    modules += [write_module(folder / name, saved_model) for name, saved_model in raw.items()]
    (folder / "half_plus_two").mkdir()
    safe_extract(HALF_PLUS_TWO, folder / "half_plus_two")
    modules.append(folder / "half_plus_two")
    # Tarballs: at the archive root, one folder down (HUB401) and with a stray member.
    modules.append(pack(folder / "batch_norm", folder / "batch_norm.tar.gz"))
    modules.append(pack(folder / "half_plus_two", folder / "nested.tar.gz", prefix="m/"))
    modules.append(pack(folder / "ftrl", folder / "stray.tar.gz", extra={"notes.txt": b"x"}))
    return modules


def _view_from_tensorflow_protos(module: Path) -> ModuleView:
    """What reading a directory looked like before: TensorFlow's own protos."""
    saved_model = read_saved_model(module)  # TensorFlow's messages, collections checked
    check_loadable(module, saved_model)
    checkpoint = module / "variables" / "variables"
    return ModuleView.from_saved_model(
        saved_model, path=str(module),
        checkpoint_path=str(checkpoint) if checkpoint.with_suffix(".index").is_file() else None)


def _json(findings) -> list[dict]:
    return [f.to_json() for f in findings]


_WITHOUT_TENSORFLOW = """
import json, sys
from hubpub.checks.config import LintConfig
from hubpub.commands.lint import lint_target
from hubpub.docs.summary import summarize
from hubpub.spec.op_registry import op_registry
from hubpub.target import load_view
out = {"findings": {}, "summaries": {}}
for target in sys.argv[1:]:
    out["findings"][target] = [f.to_json() for f in lint_target(target, LintConfig())]
    out["summaries"][target] = summarize(load_view(target))
out["registry"] = op_registry().source
out["tensorflow_imported"] = "tensorflow" in sys.modules
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def without_tensorflow(corpus: list[Path]) -> dict:
    proc = subprocess.run([sys.executable, "-c", _WITHOUT_TENSORFLOW, *map(str, corpus)],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_no_tensorflow_is_imported_and_the_snapshot_answers(without_tensorflow: dict) -> None:
    assert without_tensorflow["tensorflow_imported"] is False
    assert without_tensorflow["registry"].startswith("hubpub's snapshot of TensorFlow")


def test_every_rule_finds_the_same_with_and_without_tensorflow(corpus: list[Path],
                                                              without_tensorflow: dict) -> None:
    found_codes = set()
    for module in corpus:
        if module.is_dir():
            expected = _json(run_checks(_view_from_tensorflow_protos(module), LintConfig()))
        else:  # a tarball: in this process (TensorFlow loaded, its live registry)
            expected = _json(lint_target(str(module), LintConfig()))
        assert without_tensorflow["findings"][str(module)] == expected, module.name
        found_codes |= {f["code"] for f in expected}
    # The corpus exercises the rules that read graphs, op registries and checkpoints.
    assert {"HUB201", "HUB202", "HUB203", "HUB204", "HUB206", "HUB208", "HUB209", "HUB301",
            "HUB302", "HUB303", "HUB401", "HUB402", "HUB502"} <= found_codes


def test_summaries_are_the_same_with_and_without_tensorflow(corpus: list[Path],
                                                            without_tensorflow: dict) -> None:
    for module in corpus:
        if module.is_dir():
            expected = summarize(_view_from_tensorflow_protos(module))
            assert without_tensorflow["summaries"][str(module)] == expected, module.name


_CLI = """
import sys
from hubpub.cli import main
code = main(sys.argv[1:])
print("exit", code, "tensorflow" in sys.modules, file=sys.stderr)
"""


@pytest.mark.parametrize("command", [["lint"], ["lint", "--format", "sarif"], ["docs"]])
@pytest.mark.parametrize("form", ["directory", "tarball"])
def test_lint_and_docs_import_no_tensorflow(corpus: list[Path], command: list[str],
                                            form: str, tmp_path: Path) -> None:
    module = corpus[0]
    target = module if form == "directory" else pack(module, tmp_path / "m.tar.gz")
    proc = subprocess.run([sys.executable, "-c", _CLI, *command, str(target)],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.stderr.splitlines()[-1] in ("exit 0 False", "exit 1 False"), proc.stderr


def test_validate_smoke_tests_in_its_child_and_checks_statically_without_tensorflow(
        corpus: list[Path], tmp_path: Path) -> None:
    module = shutil.copytree(corpus[-4], tmp_path / "half_plus_two")
    proc = subprocess.run([sys.executable, "-c", _CLI, "validate", str(module)],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.stderr.splitlines()[-1] == "exit 0 False", proc.stderr
