"""Op libraries (`requires:`): recorded in the module, imported where hubpub loads it, named
(never imported) when a consumer loads it without them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from hubpub.checks.engine import refusal
from hubpub.checks.findings import Finding, Location, Severity
from hubpub.checks.rules import hub302_unknown_ops
from hubpub.docs.snippets import build_usage
from hubpub.docs.summary import summarize
from hubpub.manifest import load_manifest
from hubpub.spec.files import ATTACHMENTS_COLLECTION
from hubpub.spec.protos import ModuleAttachment
from hubpub.spec.requirements import REQUIRES_KEY, library_for_op, recorded_requirements
from hubpub.spec.view import ModuleView
from hubpub.target import build_spec


def _saved_model_with_op(op: str):
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    meta = saved_model.meta_graphs.add()
    meta.graph_def.node.add(name="tokenize", op=op)
    return saved_model


def test_hub302_names_the_library_of_a_known_op_and_how_to_get_it():
    view = ModuleView.from_saved_model(_saved_model_with_op("TFText>NotAnOp"), path="m")
    (hit,) = hub302_unknown_ops.check(view, {})
    assert "it is an op of tensorflow_text, which is not loaded: pip install tensorflow-text" \
        in hit.message
    assert "requires: [tensorflow_text]" in hit.message
    assert library_for_op("Conv2D") is None


def test_refusing_an_unknown_op_gives_advice_that_works():
    blocker = Finding("HUB302", Severity.ERROR, "op type 'ZeroOut' is not registered",
                      Location(path="m"))
    message = refusal([blocker], "smoke test")
    assert "HUB301.allow" not in message  # allowing an op does not make it known
    assert "requires: [LIBRARY]" in message


@pytest.fixture(scope="module")
def text_module(tmp_path_factory):
    pytest.importorskip("tensorflow_text")
    folder = tmp_path_factory.mktemp("text")
    (folder / "hubpub.yaml").write_text(textwrap.dedent("""\
        module: {handle: acme/text, version: 1}
        module_fn: tests.execution.publisher_modules:text_tokens
        requires: [tensorflow_text]
        metadata: {description: Tokens., license: Apache-2.0}
        """))
    spec = build_spec(load_manifest(folder / "hubpub.yaml"))
    spec.export(folder / "module", checkpoint_path=None)
    return spec, folder / "module"


def test_the_module_records_what_it_requires(text_module):
    spec, _ = text_module
    assert recorded_requirements(spec.saved_model.meta_graphs) == ["tensorflow_text"]
    meta = spec.saved_model.meta_graphs[0]
    (raw,) = meta.collection_def[ATTACHMENTS_COLLECTION].bytes_list.value
    attachment = ModuleAttachment.FromString(raw)
    assert (attachment.key, json.loads(attachment.value)) == (REQUIRES_KEY, ["tensorflow_text"])


def test_every_snippet_starts_with_the_import(text_module):
    spec, _ = text_module
    summary = summarize(ModuleView.from_saved_model(spec.saved_model, path="m"))
    usage = build_usage(summary, "acme/text/1")
    assert usage["requires"] == ["tensorflow_text"]
    for key in ("tf1", "tf2"):
        assert usage[key].startswith("import tensorflow_text  # registers ops")


@pytest.mark.slow
def test_a_consumer_without_the_library_is_told_which_one(text_module):
    """In a fresh process: hub.Module names the library and imports nothing; the smoke test
    (which imports the known libraries the module records) passes."""
    _, module_dir = text_module
    code = textwrap.dedent("""\
        import json, sys
        import hubpub as hub
        from hubpub._tf import tf
        try:
            with tf.Graph().as_default():
                hub.Module(sys.argv[1])
            error = None
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        imported = "tensorflow_text" in sys.modules
        from hubpub.execution.smoke import run_smoke_test
        problems = run_smoke_test(sys.argv[1]).problems
        print(json.dumps({"error": error, "imported": imported, "problems": problems}))
        """)
    done = subprocess.run([sys.executable, "-c", code, str(module_dir)], capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["error"].startswith("SpecError: the module uses op type(s) "
                                      "['TFText>WhitespaceTokenizeWithOffsetsV2']")
    assert "it requires tensorflow_text: pip install tensorflow-text" in report["error"]
    assert report["imported"] is False
    assert report["problems"] == []


@pytest.mark.slow
def test_every_op_tensorflow_text_registers_is_known_to_be_its_own():
    """A new tensorflow_text release that registers new op names fails here until they are listed."""
    pytest.importorskip("tensorflow_text")
    code = ("from hubpub.spec.op_registry import registered_ops\n"
            "_, before = registered_ops()\n"
            "import tensorflow_text\n"
            "_, after = registered_ops()\n"
            "print('\\n'.join(sorted({o.name for o in after} - {o.name for o in before})))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=True)
    added = proc.stdout.split()
    assert added
    assert [op for op in added if getattr(library_for_op(op), "module", None)
            != "tensorflow_text"] == []
