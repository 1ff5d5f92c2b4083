"""Built-in recipes: ready module_fns with their weights, named by a manifest's ``recipe:``.

No TensorFlow at import time: a recipe imports it when it builds a graph.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hubpub.errors import ManifestError, ManifestProblem

if TYPE_CHECKING:
    from hubpub.manifest import Manifest

__all__ = ["RECIPES", "get_recipe"]

# recipe name -> "module:class"; the class has from_manifest_section(section, folder, ...)
RECIPES = {
    "text_embedding": "hubpub.recipes.text_embedding:TextEmbeddingRecipe",
}


def get_recipe(section: Mapping[str, Any], folder: Path, variants: Sequence[Any] = (), *,
               progress: Callable[[int, int], None] | None = None,
               manifest: Manifest | None = None) -> Any:
    """The recipe a manifest's ``recipe:`` section names, with its inputs read.

    The result has ``module_fn``, ``tags_and_args``, ``init_fn(module, session)``,
    ``variable_values()`` and ``asset_files``. Pass the ``Manifest`` as ``manifest`` so that
    problems carry their line and column.
    """
    name = section.get("name")
    if name not in RECIPES:
        where = str(manifest.path) if manifest is not None else str(folder)
        line, column = manifest.location("recipe.name") if manifest is not None else (1, 1)
        raise ManifestError([ManifestProblem(
            where, line, column,
            f"unknown recipe {name!r}; built-in recipes: {', '.join(sorted(RECIPES))}")])
    module_name, _, class_name = RECIPES[name].partition(":")
    recipe_class = getattr(importlib.import_module(module_name), class_name)
    return recipe_class.from_manifest_section(section, Path(folder), variants=variants,
                                              manifest=manifest, progress=progress)
