"""`hubpub convert` on modules written the way publishers wrote them: a tf.cond that differs
between variants, converted from the manifest; the nnlm layout, whose sparse ``tokens``
signature TF2 serving signatures cannot take."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

import hubpub as hub
from hubpub._tf import tf
from hubpub.cli import main
from hubpub.execution.smoke import run_smoke_test
from hubpub.pipelines.convert import convert_module, tf2_metadata
from tests.execution import publisher_modules as pm

pytestmark = pytest.mark.slow


def test_convert_from_a_manifest_works_as_from_a_directory(tmp_path, capsys):
    (tmp_path / "hubpub.yaml").write_text(textwrap.dedent("""\
        module: {handle: acme/cond, version: 1}
        module_fn: tests.execution.publisher_modules:cond_per_variant
        variants:
          - {tags: [train], args: {is_training: true}}
          - {tags: [], args: {is_training: false}}
        metadata: {description: A tf.cond per variant., license: Apache-2.0}
        """))
    out = tmp_path / "tf2"
    assert main(["convert", str(tmp_path / "hubpub.yaml"), str(out), "--no-smoke-test"]) == 0
    assert "update ops 2" in capsys.readouterr().out
    loaded = tf.saved_model.load(str(out))
    x = np.ones([2, 4], np.float32)
    assert loaded(x, training=False).shape == (2, 3)


def test_a_sparse_signature_is_left_out_with_a_note(tmp_path, caplog):
    hub.create_module_spec(pm.sparse_tokens).export(tmp_path / "nnlm", checkpoint_path=None)
    result = convert_module(tmp_path / "nnlm", tmp_path / "tf2")
    note = "variant [] signature 'tokens': input 'default' is a sparse tensor"
    assert result.signatures == ["default"]
    assert result.left_out == {"tokens": note}
    assert tf2_metadata(result.out_dir)["left_out_signatures"] == {"tokens": note}
    assert note in caplog.text
    smoke = run_smoke_test(tmp_path / "nnlm", result.out_dir)  # the TF1 module keeps it
    assert smoke.ok, smoke.problems
    assert {s["signature"] for s in smoke.signatures} == {"default", "tokens"}
