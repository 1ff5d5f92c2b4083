"""Rendered pages compared byte for byte with reviewed files in tests/docs/golden/.

Set HUBPUB_UPDATE_GOLDEN=1 to rewrite the golden files (see golden/README.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hubpub.docs.render import render_docs
from hubpub.docs.tfhub_format import validate_tfhub_page
from tests.docs.conftest import view_of
from tests.docs.pages import HALF_PLUS_TWO_HANDLE, HALF_PLUS_TWO_META, PETS_HANDLE, PETS_META

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("HUBPUB_UPDATE_GOLDEN") == "1"
PETS_REPORT = {"tarball": {"file": "acme-fruit-to-pet-3.tar.gz", "bytes": 123456,
                           "sha256": "0" * 63 + "1"}}


def _compare(prefix: str, files: dict[str, str]) -> None:
    for name, text in files.items():
        golden = GOLDEN / f"{prefix}.{name}"
        if UPDATE:
            golden.write_text(text, encoding="utf-8")
            continue
        assert golden.is_file(), f"{golden} missing; run with HUBPUB_UPDATE_GOLDEN=1"
        assert text == golden.read_text(encoding="utf-8"), (
            f"{name} differs from {golden}; if intended, regenerate with HUBPUB_UPDATE_GOLDEN=1")


@pytest.mark.parametrize("fmt", ["markdown", "kaggle"])
def test_half_plus_two_pages(half_plus_two_dir, fmt):
    files = render_docs(view_of(half_plus_two_dir), HALF_PLUS_TWO_META, fmt=fmt,
                        handle=HALF_PLUS_TWO_HANDLE)
    _compare(f"half_plus_two.{fmt}", files)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["markdown", "tfhub", "kaggle"])
def test_pets_pages(pets_dir, fmt):
    files = render_docs(view_of(pets_dir), PETS_META, fmt=fmt, build_report=PETS_REPORT,
                        handle=PETS_HANDLE)
    _compare(f"pets.{fmt}", files)


@pytest.mark.slow
def test_generated_tfhub_page_is_valid(pets_dir):
    (text,) = render_docs(view_of(pets_dir), PETS_META, fmt="tfhub", handle=PETS_HANDLE).values()
    assert validate_tfhub_page(text, "3.md") == []


def test_tfhub_page_with_task_other_is_flagged(half_plus_two_dir):
    (text,) = render_docs(view_of(half_plus_two_dir), HALF_PLUS_TWO_META, fmt="tfhub",
                          handle=HALF_PLUS_TWO_HANDLE).values()
    problems = validate_tfhub_page(text, "1.md")
    assert [(p.line, p.message.split(" ")[0]) for p in problems] == [
        (4, "asset-path"), (5, "module-type")]
