"""The legacy tfhub.dev page validator: each rule, with the line it reports."""

from __future__ import annotations

import pytest

from hubpub.docs.tfhub_format import validate_tfhub_page

VALID = """\
# Module acme/text-embedding/2
Sentence embeddings for English.

<!-- asset-path: https://example.com/acme/text-embedding-2.tar.gz -->
<!-- module-type: text-embedding -->
<!-- fine-tunable: true -->
<!-- format: hub -->
<!-- license: Apache-2.0 -->
<!-- language: en -->
<!-- language: de -->

## Overview

Free text. <!-- not metadata -->
"""


def _replace(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new)


def test_valid_page_has_no_problems():
    assert validate_tfhub_page(VALID, "2.md") == []


def test_task_is_accepted_as_the_newer_name_of_module_type():
    page = _replace("<!-- module-type: text-embedding -->", "<!-- task: text-embedding -->")
    assert validate_tfhub_page(page) == []


@pytest.mark.parametrize(("page", "line", "fragment"), [
    pytest.param(_replace("<!-- format: hub -->\n", ""), 11, "missing required metadata 'format'",
                 id="missing-format"),
    pytest.param(_replace("<!-- asset-path: https://example.com/acme/text-embedding-2.tar.gz -->\n",
                          ""), 11, "missing required metadata 'asset-path'",
                 id="missing-asset-path"),
    pytest.param(_replace("<!-- fine-tunable: true -->\n", ""), 11,
                 "missing required metadata 'fine-tunable'", id="missing-fine-tunable"),
    pytest.param(_replace("<!-- language: de -->", "<!-- colour: blue -->"), 10,
                 "unknown metadata key 'colour'", id="unknown-key"),
    pytest.param(_replace("<!-- license: Apache-2.0 -->", "<!-- format: hub -->"), 8,
                 "metadata 'format' appears again (first on line 7)", id="repeated-format"),
    pytest.param(_replace("<!-- language: de -->", "<!-- license: MIT -->"), 10,
                 "metadata 'license' appears again (first on line 8)", id="repeated-license"),
    pytest.param(_replace("<!-- language: de -->", "<!-- task: text-embedding -->"), 10,
                 "metadata 'module-type' appears again (first on line 5)",
                 id="task-and-module-type"),
    pytest.param(_replace("# Module acme/text-embedding/2", "# Model acme/text-embedding"), 1,
                 "first line must be '# Module publisher/name/version'", id="first-line"),
    pytest.param(_replace("Sentence embeddings for English.\n", "\n"), 2,
                 "second line must be a short description", id="no-description"),
    pytest.param(_replace("text-embedding -->", "embedding -->"), 5,
                 "module-type 'embedding' must start with one of", id="bad-module-type"),
    pytest.param(_replace("fine-tunable: true", "fine-tunable: yes"), 6,
                 "fine-tunable must be 'true' or 'false'", id="bad-fine-tunable"),
    pytest.param(_replace("format: hub", "format: tf1"), 7, "format must be one of",
                 id="bad-format"),
    pytest.param(_replace("license: Apache-2.0", "license: WTFPL"), 8,
                 "license 'WTFPL' is not accepted", id="bad-license"),
    pytest.param(_replace("https://example.com/acme/text-embedding-2.tar.gz", "model.zip"), 4,
                 "asset-path must be an http(s):// or gs:// URL of a .tar.gz", id="bad-asset-path"),
    pytest.param(_replace("<!-- language: de -->", "Some prose in the metadata block."), 10,
                 "unexpected line in the metadata block", id="prose-in-metadata"),
    pytest.param(_replace("Free text.", "<!-- dataset: wiki -->"), 14,
                 "metadata 'dataset' after the first heading is ignored", id="late-metadata"),
    pytest.param(_replace("<!-- language: de -->", "<!-- dataset: -->"), 10,
                 "metadata 'dataset' has no value", id="empty-value"),
])
def test_each_rule_reports_its_line(page, line, fragment):
    problems = validate_tfhub_page(page, "2.md")
    assert [(p.line, fragment in p.message) for p in problems] == [(line, True)], problems
    assert str(problems[0]).startswith(f"2.md:{line}: ")


def test_repeatable_keys_may_repeat():
    page = _replace("<!-- language: de -->", "<!-- language: de -->\n<!-- dataset: a -->\n"
                    "<!-- dataset: b -->\n<!-- network-architecture: x -->")
    assert validate_tfhub_page(page) == []


def test_all_problems_are_reported_in_line_order():
    page = "# Module a/b/1\nDescription.\n\n<!-- colour: red -->\n<!-- format: hub -->\n"
    problems = validate_tfhub_page(page, "1.md")
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    messages = " | ".join(p.message for p in problems)
    for key in ("asset-path", "module-type", "fine-tunable", "colour"):
        assert key in messages
