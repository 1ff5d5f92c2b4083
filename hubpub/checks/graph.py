"""Moved to ``hubpub.spec.view`` (the read-only view sits below the checks and docs that read it).

Kept as an alias so code written against the old name keeps working; import from
``hubpub.spec.view`` in new code.
"""

from hubpub.spec.view import (  # noqa: F401
    Location,
    ModuleView,
    SignatureView,
    TensorView,
    VariableView,
    VariantView,
    node_name,
)

__all__ = ["ModuleView", "SignatureView", "TensorView", "VariableView", "VariantView"]
