"""Hand-written sections between hubpub:keep markers survive regeneration."""

from __future__ import annotations

import pytest

from hubpub.docs.markers import merge_sections, parse_sections
from hubpub.errors import ExportError

GENERATED = """\
# Title

<!-- hubpub:keep overview -->
Default text.
<!-- hubpub:end -->

## Signatures (generated)

<!-- hubpub:keep notes -->
<!-- hubpub:end -->
"""


def test_kept_text_replaces_the_default_and_the_rest_is_regenerated():
    edited = GENERATED.replace("Default text.", "My own words.\n\nTwo paragraphs.")
    edited = edited.replace("## Signatures (generated)", "## Old generated text")
    merged = merge_sections(GENERATED, parse_sections(edited, "README.md"), "README.md")
    assert merged == GENERATED.replace("Default text.", "My own words.\n\nTwo paragraphs.")


def test_empty_kept_section_stays_empty():
    edited = GENERATED.replace("Default text.\n", "")
    assert "Default text." not in merge_sections(GENERATED, parse_sections(edited))


def test_section_missing_from_the_template_is_appended_not_lost(caplog):
    old = GENERATED + "<!-- hubpub:keep history -->\nv1: first release\n<!-- hubpub:end -->\n"
    merged = merge_sections(GENERATED, parse_sections(old), "README.md")
    assert merged.endswith("\n<!-- hubpub:keep history -->\nv1: first release\n"
                           "<!-- hubpub:end -->\n")
    assert "history" in caplog.text
    # Regenerating again is stable: --check on a page with such a section passes.
    assert merge_sections(GENERATED, parse_sections(merged), "README.md") == merged


@pytest.mark.parametrize(("text", "fragment"), [
    pytest.param("a\n<!-- hubpub:keep x -->\nb\n", "README.md:2: hubpub:keep section 'x' is never "
                 "closed", id="unclosed"),
    pytest.param("<!-- hubpub:end -->\n", "README.md:1: <!-- hubpub:end --> without",
                 id="stray-end"),
    pytest.param("<!-- hubpub:keep x -->\n<!-- hubpub:keep y -->\n", "README.md:2: hubpub:keep "
                 "section 'y' starts inside section 'x' opened on line 1", id="nested"),
    pytest.param("<!-- hubpub:keep x -->\n<!-- hubpub:end -->\n<!-- hubpub:keep x -->\n"
                 "<!-- hubpub:end -->\n", "README.md:3: hubpub:keep section 'x' appears twice",
                 id="duplicate"),
])
def test_broken_markers_are_reported_with_their_line(text, fragment):
    with pytest.raises(ExportError) as info:
        parse_sections(text, "README.md")
    assert fragment in str(info.value)
