"""Deprecated: ``hubpub.convert`` moved to ``hubpub.pipelines.convert`` in 0.2.0.

The README documented ``hubpub.convert.tf2_metadata``; it is ``hubpub.tf2_metadata`` now. This
forwarder keeps old code working for one release, with a ``DeprecationWarning``.
"""

from __future__ import annotations

import warnings
from typing import Any

from hubpub.pipelines import convert as _moved

warnings.warn("hubpub.convert moved to hubpub.pipelines.convert and will be removed in 0.3; "
              "use hubpub.tf2_metadata", DeprecationWarning, stacklevel=2)


def __getattr__(name: str) -> Any:
    return getattr(_moved, name)
