"""The manifest: a publisher's YAML file, checked against ``schema.json`` and turned into a
frozen ``Manifest`` (``model``), with every value's line and column (``marked_yaml``) and
SPDX licence ids (``spdx``). No TensorFlow in this package."""

from __future__ import annotations

from hubpub.manifest import model
from hubpub.manifest.model import *  # noqa: F403  (the package's public names are the model's)

__all__ = model.__all__
