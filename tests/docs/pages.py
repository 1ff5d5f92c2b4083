"""The pages the golden and snippet tests share: fixed metadata, fixed handles."""

from __future__ import annotations

import re
from pathlib import Path

from hubpub.docs.meta import DocMeta

HALF_PLUS_TWO_HANDLE = "half_plus_two"
PETS_HANDLE = "pets"

HALF_PLUS_TWO_META = DocMeta.from_handle(
    "tensorflow/half-plus-two/1",
    description="Computes 0.5 * x + 2 for every element of a float32 tensor of any shape.",
    license="Apache-2.0", fine_tunable=True, task="other",
    learning_rate_note="Any rate works; the two variables are scalars.")

PETS_META = DocMeta.from_handle(
    "acme/fruit-to-pet/3",
    description="A multi-signature test module: fruit to pets, image features, text.\n\n"
                "It has a training variant with update ops and an L2 regularization loss.",
    license="MIT", fine_tunable=True, task="image-feature-vector", dataset="fruits-v1",
    architecture="tiny-conv", language="en",
    learning_rate_note="Use 1e-3 or lower; the moving averages need a few hundred steps.",
    asset_path="https://example.com/acme/fruit-to-pet-3.tar.gz", kaggle_instance="tiny",
    claims={"image_feature_vector": "image_feature_vector", "text_embedding": "text_embedding"})

_FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(text: str) -> list[str]:
    """The fenced ```python blocks of a Markdown page, in order."""
    return _FENCE.findall(text)


def for_module(code: str, handle: str, module_dir: Path) -> str:
    """The snippet with the documented handle replaced by the module's real path."""
    literal = repr(handle)
    assert literal in code, f"snippet does not load {literal}:\n{code}"
    return code.replace(literal, repr(str(module_dir)))


# Runs each snippet as __main__ in a fresh namespace of one process (TensorFlow imports once),
# capturing its output; a snippet that raises fails alone.
_DRIVER = """\
import contextlib, io, json, sys, traceback
results = []
for code in json.load(open(sys.argv[1])):
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "<snippet>", "exec"), {"__name__": "__main__"})
        results.append({"ok": True, "stdout": out.getvalue()})
    except BaseException:
        results.append({"ok": False, "stdout": out.getvalue(), "error": traceback.format_exc()})
json.dump(results, open(sys.argv[2], "w"))
"""


def run_snippets(snippets: list[str], workdir: Path,
                 env: dict[str, str] | None = None) -> list[str]:
    """Runs the snippets in a fresh Python process; returns each one's stdout.

    Fails the calling test with the snippet and its traceback when one raises.
    """
    import json
    import os
    import subprocess
    import sys

    source, results = workdir / "snippets.json", workdir / "results.json"
    source.write_text(json.dumps(snippets))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    done = subprocess.run([sys.executable, "-c", _DRIVER, str(source), str(results)],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = []
    for code, result in zip(snippets, json.loads(results.read_text()), strict=True):
        assert result["ok"], f"snippet failed:\n{code}\n--- traceback ---\n{result['error']}"
        outputs.append(result["stdout"])
    return outputs
