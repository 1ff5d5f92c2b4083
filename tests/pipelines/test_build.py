"""`hubpub build` end to end: real manifests, real exports, real tarballs, the real CLI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from hubpub.cli import main
from hubpub.execution.smoke import InProcessSmokeRun
from hubpub.pipelines.scaffold import TEMPLATES, write_scaffold

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "text-embedding" / "hubpub.yaml"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _build(manifest: Path, out: Path, *extra: str) -> int:
    return main(["build", str(manifest), "--out", str(out), "--quiet", *extra])


@pytest.fixture(scope="module")
def built_templates(tmp_path_factory):
    """Each template, scaffolded and built once (with its TF2 export); shared below."""
    results = {}
    for template in TEMPLATES:
        root = tmp_path_factory.mktemp(template)
        write_scaffold(template, root / "project", handle=f"acme/{template}")
        out = root / "dist"
        code = _build(root / "project" / "hubpub.yaml", out, "--tf2")
        results[template] = (code, root / "project", out)
    return results


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_builds_and_loads(built_templates, template):
    import hubpub
    from hubpub._tf import tf

    code, _, out = built_templates[template]
    assert code == 0
    tarball = out / f"acme-{template}-1.tar.gz"
    assert tarball.is_file()
    assert (out / f"{tarball.name}.sha256").read_text().split()[0] == _sha256(tarball)
    report = json.loads((out / "build-report.json").read_text())
    assert report["tarball"]["sha256"] == _sha256(tarball)
    assert report["smoke_test"]["ok"] is True
    assert report["smoke_test"]["confinement"] != InProcessSmokeRun.CONFINEMENT  # a child
    assert not [f for f in report["checks"] if f.get("suppressed") is None]
    assert report["versions"]["tensorflow"] == tf.__version__
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
    assert {"saved_model.pb", "tfhub_module.pb"} <= names
    assert not any(n.startswith(("/", "..", "./")) for n in names)
    with tf.Graph().as_default():
        module = hubpub.Module(str(tarball))
        assert module.get_signature_names()


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_builds_a_tf2_export(built_templates, template):
    """--tf2: the Reusable SavedModel, its reproducible tarball, smoke-tested against TF1."""
    from hubpub._tf import tf

    _, _, out = built_templates[template]
    tf2_dir, tarball = out / f"acme-{template}-1-tf2", out / f"acme-{template}-1-tf2.tar.gz"
    assert (out / f"{tarball.name}.sha256").read_text().split()[0] == _sha256(tarball)
    report = json.loads((out / "build-report.json").read_text())
    assert report["tf2"]["tarball"]["sha256"] == _sha256(tarball)
    assert report["tf2"]["dir"] == tf2_dir.name
    assert report["smoke_test"]["ok"] is True  # the TF2 export's checks are part of it
    with tarfile.open(tarball) as tar:
        assert {"saved_model.pb", "assets.extra/hubpub.json"} <= set(tar.getnames())
    loaded = tf.saved_model.load(str(tf2_dir))
    assert sorted(loaded.signatures) == report["tf2"]["signatures"]
    assert len(loaded.trainable_variables) == report["tf2"]["trainable_variables"]
    assert len(loaded.regularization_losses) == report["tf2"]["regularization_losses"]


def test_building_twice_gives_identical_tarballs(tmp_path):
    write_scaffold("image-feature-vector", tmp_path / "p", handle="acme/twice")
    digests = []
    for run in ("a", "b"):
        assert _build(tmp_path / "p" / "hubpub.yaml", tmp_path / run, "--no-smoke-test",
                      "--tf2") == 0
        digests.append([_sha256(tmp_path / run / name)
                        for name in ("acme-twice-1.tar.gz", "acme-twice-1-tf2.tar.gz")])
    assert digests[0] == digests[1]


def test_basic_template_computes_half_plus_two(built_templates):
    import hubpub

    _, _, out = built_templates["basic"]
    with hubpub.eval_function_for_module(str(out / "acme-basic-1")) as f:
        np.testing.assert_allclose(f([1.0, 2.0, 10.0]), [2.5, 3.0, 7.0])


def _write_project(root: Path, manifest: str, module: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "module.py").write_text(textwrap.dedent(module))
    (root / "hubpub.yaml").write_text(textwrap.dedent(manifest))
    return root / "hubpub.yaml"


DENSE_MODULE = """
    import tensorflow as tf
    import hubpub as hub

    def module_fn():
        x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
        w = tf.compat.v1.get_variable("dense/kernel", [3, 2])
        tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES,
                                       0.01 * tf.nn.l2_loss(w))
        hub.add_signature(inputs=x, outputs=tf.matmul(x, w))

    def init_fn(module, session):
        module.variable_map["dense/kernel"].load([[1, 0], [0, 1], [1, 1]], session)
"""


def _manifest(weights: str) -> str:
    return f"""
        module: {{handle: acme/dense, version: 3}}
        module_fn: module.py:module_fn
        weights:
{textwrap.indent(textwrap.dedent(weights).strip(), " " * 10)}
        metadata: {{description: d, license: Apache-2.0, fine_tunable: true, task: other}}
    """


def _kernel(module_dir: Path) -> np.ndarray:
    import hubpub
    from hubpub._tf import tf

    with tf.Graph().as_default():
        module = hubpub.Module(str(module_dir))
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            return session.run(module.variable_map["dense/kernel"])


def test_weights_from_an_init_fn_hook(tmp_path):
    manifest = _write_project(tmp_path / "p", _manifest("source: hook\nhook: module.py:init_fn"),
                              DENSE_MODULE)
    assert _build(manifest, tmp_path / "out") == 0
    np.testing.assert_allclose(_kernel(tmp_path / "out" / "acme-dense-3"), [[1, 0], [0, 1], [1, 1]])


def test_weights_from_the_newest_checkpoint_of_a_training_dir(tmp_path):
    from hubpub._tf import tf

    train = tmp_path / "p" / "train"
    train.mkdir(parents=True)
    with tf.Graph().as_default():
        with tf.compat.v1.variable_scope("tower"):
            kernel = tf.compat.v1.get_variable("dense/kernel", [3, 2])
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as session:
            for step, value in ((1, 1.0), (2, 7.0)):
                session.run(kernel.assign(tf.fill([3, 2], value)))
                saver.save(session, str(train / "model.ckpt"), global_step=step)
    manifest = _write_project(tmp_path / "p", _manifest("source: training_dir\n"
                                                         "training_dir: train\nscope: tower"),
                              DENSE_MODULE)
    assert _build(manifest, tmp_path / "out", "--no-smoke-test") == 0
    np.testing.assert_allclose(_kernel(tmp_path / "out" / "acme-dense-3"), np.full([3, 2], 7.0))


def test_a_checkpoint_that_does_not_match_is_an_input_error(tmp_path, capsys):
    from hubpub._tf import tf

    (tmp_path / "p" / "ckpt").mkdir(parents=True)
    with tf.Graph().as_default():
        other = tf.compat.v1.get_variable("other", [4])
        with tf.compat.v1.Session() as session:
            session.run(other.initializer)
            tf.compat.v1.train.Saver().save(session, str(tmp_path / "p" / "ckpt" / "model"))
    manifest = _write_project(tmp_path / "p", _manifest("source: checkpoint\n"
                                                         "checkpoint: ckpt/model"), DENSE_MODULE)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("previous build")
    assert _build(manifest, out) == 2
    err = capsys.readouterr().err
    assert "dense/kernel is not found in the checkpoint" in err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_module_fn_that_raises_points_at_the_publishers_line(tmp_path, capsys):
    manifest = _write_project(tmp_path / "p", _manifest("source: initializers"), """
        import tensorflow as tf

        def module_fn():
            x = tf.compat.v1.placeholder(tf.float32, [None])
            raise RuntimeError("publisher bug")
    """)
    assert _build(manifest, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'p' / 'module.py'}:6:" in err
    assert "publisher bug" in err
    assert "Traceback" not in err


def test_manifest_typo_fails_fast_without_tensorflow(tmp_path):
    manifest = _write_project(tmp_path / "p", _manifest("source: initializers").replace(
        "fine_tunable", "fine_tuneable"), DENSE_MODULE)
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "hubpub", "build",
                           str(manifest)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "fine_tuneable" in proc.stderr and "hubpub.yaml:" in proc.stderr
    assert "| tensorflow\n" not in proc.stderr.replace("\r", "")
    assert "Traceback" not in proc.stderr


def test_unwritable_out_is_an_input_error(tmp_path, capsys):
    write_scaffold("basic", tmp_path / "p")
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert _build(tmp_path / "p" / "hubpub.yaml", blocker / "dist") == 2
    assert "cannot write" in capsys.readouterr().err


@pytest.mark.skipif(not EXAMPLE.is_file(), reason="example not present")
def test_readme_main_command_builds_the_example(tmp_path):
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    proc = subprocess.run([sys.executable, "-m", "hubpub", "build", str(EXAMPLE),
                           "--out", str(tmp_path)], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert list(tmp_path.glob("*.tar.gz"))
    assert "Traceback" not in proc.stderr
    smoke = json.loads((tmp_path / "build-report.json").read_text())["smoke_test"]
    assert smoke["ok"] and smoke["signatures"]
    assert smoke["confinement"] == InProcessSmokeRun.CONFINEMENT  # a recipe: no second TF


@pytest.mark.skipif(not EXAMPLE.is_file(), reason="example not present")
def test_a_recipe_build_checks_its_tf2_export_in_process_too(tmp_path):
    assert _build(EXAMPLE, tmp_path, "--tf2") == 0
    report = json.loads((tmp_path / "build-report.json").read_text())
    smoke = report["smoke_test"]
    assert smoke["ok"] and smoke["confinement"] == InProcessSmokeRun.CONFINEMENT
    assert report["tf2"]["tarball"]["file"].endswith("-tf2.tar.gz")


def test_module_fn_file_that_does_not_import_names_its_line(tmp_path, capsys):
    manifest = _write_project(tmp_path / "p", _manifest("source: initializers"), """
        import tensorflow as tf

        def module_fn(:
            pass
    """)
    assert _build(manifest, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'p' / 'module.py'}:4:" in err
    assert "SyntaxError" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_module_fn_name_that_does_not_exist(tmp_path, capsys):
    manifest = _write_project(tmp_path / "p", _manifest("source: initializers").replace(
        "module.py:module_fn", "module.py:make_module"), DENSE_MODULE)
    assert _build(manifest, tmp_path / "out") == 2
    assert "'make_module' is not a function" in capsys.readouterr().err


def test_a_build_stopped_with_sigterm_leaves_out_as_it_was(tmp_path):
    import signal

    write_scaffold("image-classification", tmp_path / "p")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("previous build")
    proc = subprocess.Popen([sys.executable, "-m", "hubpub", "build",
                             str(tmp_path / "p" / "hubpub.yaml"), "--out", str(out)],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    for line in proc.stderr:  # not a terminal: each step is announced on a line of its own
        if line.startswith("hubpub: spec"):
            proc.send_signal(signal.SIGTERM)
            break
    proc.stderr.read()
    assert proc.wait(timeout=120) == 128 + signal.SIGTERM
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_page_written_by_build_passes_docs_check(built_templates, template, capsys):
    """`hubpub docs MANIFEST --out DIR/page.md --check` documents the build found in DIR."""
    _, project, out = built_templates[template]
    page = out / f"acme-{template}-1.md"
    assert page.is_file()
    capsys.readouterr()
    assert main(["docs", str(project / "hubpub.yaml"), "--out", str(page), "--check"]) == 0, \
        capsys.readouterr()


def test_export_progress_follows_the_checkpoint_being_written(tmp_path):
    from hubpub.target import _watch_checkpoint

    target = tmp_path / "acme-words-1"
    data = tmp_path / ".acme-words-1.x1.tmp" / "variables" / "variables.data-00000-of-00001"
    data.parent.mkdir(parents=True)
    data.write_bytes(b"\0" * 1000)
    calls, seen = [], threading.Event()

    def progress(done, total):
        calls.append((done, total))
        seen.set()

    with _watch_checkpoint(target, 4000, progress):
        assert seen.wait(10)
    assert calls[0] == (1000, 4000)


def test_build_progress_has_parse_and_pack_with_totals(tmp_path):
    from hubpub.manifest import load_manifest
    from hubpub.pipelines.build import build

    calls = []
    manifest = load_manifest(EXAMPLE)
    build(manifest, out_dir=tmp_path / "dist", smoke=False,
          progress=lambda step, done, total: calls.append((step, done, total)))
    parse = [c for c in calls if c[0] == "parse" and c[1] is not None]
    size = (manifest.folder / "embeddings.txt").stat().st_size
    assert parse[-1] == ("parse", size, size)
    assert [c for c in calls if c[0] == "pack" and c[1] is not None]


def test_a_tf2_build_documents_keras_usage_and_kaggle_tf2(built_templates, tmp_path, capsys):
    """The page's hub.KerasLayer snippet runs (tensorflow_hub 0.16) on the TF2 export; the
    Kaggle files gain a TensorFlow2 instance."""
    from tests.docs.pages import for_module, python_blocks, run_snippets
    from tests.keras_consumer import tensorflow_hub_016

    _, project, out = built_templates["image-feature-vector"]
    handle = "acme-image-feature-vector-1-tf2"
    page = (out / "acme-image-feature-vector-1.md").read_text()
    assert f"`{handle}.tar.gz` (TF2)" in page
    (keras,) = [code for code in python_blocks(page) if "hub.KerasLayer(" in code]
    path = os.pathsep.join([str(tensorflow_hub_016()), os.environ.get("PYTHONPATH", "")])
    (stdout,) = run_snippets([for_module(keras, handle, out / handle)], tmp_path,
                             env={"PYTHONPATH": path, "TF_USE_LEGACY_KERAS": "1"})
    assert "trainable weights, 2 regularization losses" in stdout, stdout
    kaggle_dir = out / "kaggle"
    assert main(["docs", str(project / "hubpub.yaml"), "--format", "kaggle",
                 "--out", str(kaggle_dir)]) == 0
    tf1 = json.loads((kaggle_dir / "model-instance-metadata.json").read_text())
    tf2 = json.loads((kaggle_dir / "tensorflow2" / "model-instance-metadata.json").read_text())
    assert (tf1["framework"], tf2["framework"]) == ("tensorFlow1", "tensorFlow2")
    assert "hub.KerasLayer(" in tf2["usage"] and "hub.KerasLayer(" not in tf1["usage"]
