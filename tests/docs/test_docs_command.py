"""`hubpub docs`: targets, output files, --check exit codes and diffs, placeholders."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from hubpub.cli import main
from hubpub.docs.tfhub_format import validate_tfhub_page

META_FLAGS = ["--handle", "tensorflow/half-plus-two/1", "--description", "Half plus two.",
              "--license", "Apache-2.0", "--fine-tunable", "--task", "other"]


def _docs(*args: object) -> int:
    return main(["docs", *map(str, args)])


def test_directory_to_stdout_uses_the_given_path_in_snippets(half_plus_two_dir, capsys):
    assert _docs(half_plus_two_dir, *META_FLAGS) == 0
    out = capsys.readouterr().out
    assert out.startswith("# tensorflow/half-plus-two (version 1)\n")
    assert f"hub.Module({str(half_plus_two_dir)!r})" in out
    assert f"tf.saved_model.load({str(half_plus_two_dir)!r}, tags=[])" in out


def test_check_is_0_when_equal_and_1_with_a_diff_when_drifted(half_plus_two_dir, tmp_path, capsys):
    page = tmp_path / "README.md"
    assert _docs(half_plus_two_dir, *META_FLAGS, "--out", page) == 0
    capsys.readouterr()
    assert _docs(half_plus_two_dir, *META_FLAGS, "--out", page, "--check") == 0
    assert "up to date" in capsys.readouterr().err

    page.write_text(page.read_text().replace("Half plus two.", "Stale words."))
    assert _docs(half_plus_two_dir, *META_FLAGS, "--out", page, "--check") == 1
    captured = capsys.readouterr()
    assert f"--- {page}\n+++ {page} (regenerated)\n" in captured.out
    assert "-Stale words.\n+Half plus two.\n" in captured.out
    assert "out of date" in captured.err
    assert "Stale words." in page.read_text()  # --check never writes


def test_check_of_a_missing_file_is_1(half_plus_two_dir, tmp_path, capsys):
    assert _docs(half_plus_two_dir, *META_FLAGS, "--out", tmp_path / "none.md", "--check") == 1
    assert "(missing)" in capsys.readouterr().out


def test_hand_written_sections_survive_regeneration_and_check(half_plus_two_dir, tmp_path):
    page = tmp_path / "README.md"
    assert _docs(half_plus_two_dir, *META_FLAGS, "--out", page) == 0
    text = page.read_text()
    marker = "<!-- hubpub:keep overview -->\n"
    page.write_text(text.replace(marker, marker + "Written by hand.\n"))
    assert _docs(half_plus_two_dir, *META_FLAGS, "--out", page, "--check") == 0
    assert _docs(half_plus_two_dir, *META_FLAGS, "--description", "New words.", "--out", page) == 0
    regenerated = page.read_text()
    assert marker + "Written by hand.\n<!-- hubpub:end -->" in regenerated
    assert "New words." in regenerated


def test_placeholders_fail_the_check(half_plus_two_dir, tmp_path, capsys):
    page = tmp_path / "README.md"
    assert _docs(half_plus_two_dir, "--out", page) == 0  # writing works, with warnings
    assert "placeholder left" in capsys.readouterr().err
    assert _docs(half_plus_two_dir, "--out", page, "--check") == 1
    err = capsys.readouterr().err
    assert f"{page}:3: error: placeholder left: TODO(hubpub): describe the module" in err


def test_tfhub_check_reports_format_problems(half_plus_two_dir, tmp_path, capsys):
    page = tmp_path / "1.md"
    flags = [*META_FLAGS, "--asset-path", "https://example.com/h.tar.gz", "--format", "tfhub"]
    assert _docs(half_plus_two_dir, *flags, "--out", page) == 0
    assert validate_tfhub_page(page.read_text())[0].message.startswith("module-type 'other'")
    capsys.readouterr()
    assert _docs(half_plus_two_dir, *flags, "--out", page, "--check") == 1
    assert f"{page}:5: error: module-type 'other'" in capsys.readouterr().err
    flags[flags.index("other")] = "text-embedding"
    assert _docs(half_plus_two_dir, *flags, "--out", page) == 0
    assert _docs(half_plus_two_dir, *flags, "--out", page, "--check") == 0


def test_kaggle_writes_both_files_into_the_out_directory(half_plus_two_dir, tmp_path):
    out = tmp_path / "kaggle"
    assert _docs(half_plus_two_dir, *META_FLAGS, "--format", "kaggle", "--out", out) == 0
    document = json.loads((out / "model-instance-metadata.json").read_text())
    assert (document["ownerSlug"], document["modelSlug"], document["framework"]) == (
        "tensorflow", "half-plus-two", "tensorFlow1")
    assert document["fineTunable"] is True and document["licenseName"] == "Apache 2.0"
    assert document["usage"] == (out / "usage.md").read_text()
    assert _docs(half_plus_two_dir, *META_FLAGS, "--format", "kaggle", "--out", out,
                 "--check") == 0


def test_tarball_target(tmp_path, capsys):
    pytest.importorskip("hubpub.files.archive")
    from tests.docs.conftest import FIXTURE

    tarball = tmp_path / "hpt.tar.gz"
    shutil.copyfile(FIXTURE, tarball)
    assert _docs(tarball, *META_FLAGS) == 0
    out = capsys.readouterr().out
    assert f"hub.resolve({str(tarball)!r})" in out and "| input | `default` |" in out


def test_bad_input_exits_2_without_traceback(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert _docs(tmp_path / "empty") == 2
    err = capsys.readouterr().err
    assert "no tfhub_module.pb" in err and "Traceback" not in err
    assert _docs(tmp_path / "empty", "--handle", "Not A Handle") == 2
    assert "--handle" in capsys.readouterr().err


def test_check_without_out_is_a_usage_error(half_plus_two_dir, capsys):
    assert _docs(half_plus_two_dir, "--check") == 2
    assert "--check needs --out" in capsys.readouterr().err


def test_broken_markers_in_the_existing_page_exit_2(half_plus_two_dir, tmp_path, capsys):
    page = tmp_path / "README.md"
    page.write_text("# x\n<!-- hubpub:keep overview -->\nnever closed\n")
    assert _docs(half_plus_two_dir, *META_FLAGS, "--out", page) == 2
    assert "README.md:2: hubpub:keep section 'overview' is never closed" in capsys.readouterr().err
    assert page.read_text().endswith("never closed\n")  # untouched


# --- manifests -------------------------------------------------------------------------------
MODULE_PY = '''\
import hubpub as hub
from hubpub._tf import tf


def module_fn():
    w = tf.compat.v1.get_variable("w", shape=[], initializer=tf.compat.v1.constant_initializer(3.0))
    apples = tf.compat.v1.placeholder(tf.float32, shape=[None], name="apples")
    pears = tf.compat.v1.placeholder(tf.float32, shape=[None], name="pears")
    hub.add_signature(inputs=apples, outputs=2.0 * apples * w)
    hub.add_signature("fruit_to_pet", inputs={"apples": apples, "pears": pears},
                      outputs={"cats": apples * w + pears, "dogs": apples - pears * w})
'''


def _project(root: Path, docs: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "module.py").write_text(MODULE_PY)
    manifest = root / "hubpub.yaml"
    manifest.write_text(textwrap.dedent("""\
        module: {handle: acme/fruit, version: 2}
        module_fn: module.py:module_fn
        metadata:
          description: Fruit to pets.
          license: Apache-2.0
          fine_tunable: true
          task: other
          learning_rate_note: Small rates, please.
        output: dist
        """) + docs)
    return manifest


@pytest.mark.slow
def test_manifest_without_build_output_builds_the_spec_in_memory(tmp_path, capsys):
    manifest = _project(tmp_path / "p")
    assert _docs(manifest) == 0
    out = capsys.readouterr().out
    assert out.startswith("# acme/fruit (version 2)\n\nFruit to pets.\n")
    assert "### Signature `fruit_to_pet`" in out and "Small rates, please." in out
    assert "module = hub.Module('acme-fruit-2.tar.gz')" in out
    assert "## Download" not in out  # nothing built yet


@pytest.mark.slow
def test_page_written_by_build_passes_docs_check(tmp_path, capsys):
    manifest = _project(tmp_path / "p", "docs: {out: dist/acme-fruit-2.md}\n")
    (tmp_path / "p" / "dist").mkdir()
    (tmp_path / "p" / "dist" / "README.md").write_text("the publisher's own file\n")
    assert main(["build", str(manifest), "--quiet", "--no-smoke-test"]) == 0
    # The page is named after the module: a README.md in the output folder is left alone.
    assert (tmp_path / "p" / "dist" / "README.md").read_text() == "the publisher's own file\n"
    page = tmp_path / "p" / "dist" / "acme-fruit-2.md"
    assert "## Download" in page.read_text()
    report = json.loads((tmp_path / "p" / "dist" / "build-report.json").read_text())
    assert f"`{report['tarball']['sha256']}`" in page.read_text()
    capsys.readouterr()
    assert _docs(manifest, "--check") == 0, capsys.readouterr()


@pytest.mark.slow
def test_publisher_template_extends_the_builtin_page(tmp_path, capsys):
    manifest = _project(tmp_path / "p", "docs: {template: page.md.j2}\n")
    (tmp_path / "p" / "page.md.j2").write_text(
        '{% extends "markdown.md.j2" %}\n'
        "{% block usage %}\n## Support\n\nMail fruit@example.com.\n{% endblock %}\n")
    assert _docs(manifest) == 0
    out = capsys.readouterr().out
    assert out.endswith("## Support\n\nMail fruit@example.com.\n")
    assert "### Signature `fruit_to_pet`" in out and "## Usage" not in out


@pytest.mark.slow
def test_publisher_template_errors_point_at_its_line(tmp_path, capsys):
    manifest = _project(tmp_path / "p", "docs: {template: page.md.j2}\n")
    (tmp_path / "p" / "page.md.j2").write_text("# {{ module.name }}\n\n{{ modul.description }}\n")
    assert _docs(manifest) == 2
    err = capsys.readouterr().err
    assert "page.md.j2:3:" in err and "'modul' is undefined" in err
    (tmp_path / "p" / "page.md.j2").write_text("# {{ module.name }\n")
    assert _docs(manifest) == 2
    assert "page.md.j2:1: docs template syntax error" in capsys.readouterr().err
