"""The rule registry: an explicit list, so every rule is greppable. No TensorFlow import here.

To add a rule: write ``hubNNN_<slug>.py`` with CODE, NAME, SEVERITY, OPTIONS, DEFAULTS, a
docstring with the sections What / Why / Example / Fix, and ``check(module, options)``;
then add it to the import list and to ``_MODULES`` below.
"""

from __future__ import annotations

from types import ModuleType

# --- rule imports (one line per rule module) ---
# --- end of rule imports ---

_MODULES: tuple[ModuleType, ...] = (
    # --- registered rules (one line per rule module) ---
    # --- end of registered rules ---
)

RULES: dict[str, ModuleType] = {m.CODE: m for m in _MODULES}


def get(code: str) -> ModuleType:
    """The rule module for ``code``; ValueError naming the code when there is none."""
    try:
        return RULES[code]
    except KeyError:
        raise ValueError(f"unknown rule {code!r}; `hubpub rules` lists them") from None
