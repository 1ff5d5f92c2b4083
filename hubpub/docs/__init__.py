"""Module documentation generated from the module itself: Markdown, tfhub.dev and Kaggle pages.

``render_docs(view, manifest_or_meta, fmt=...)`` returns the files of a page;
``validate_tfhub_page(text, path)`` checks the legacy tfhub.dev format. Templates are in the
package data ``hubpub.templates`` (``docs/*.j2``). No TensorFlow is imported here.
"""

from __future__ import annotations

from hubpub.docs.meta import DocMeta
from hubpub.docs.render import FORMATS, render_docs, render_summary
from hubpub.docs.tfhub_format import validate_tfhub_page

__all__ = ["FORMATS", "DocMeta", "render_docs", "render_summary", "validate_tfhub_page"]
