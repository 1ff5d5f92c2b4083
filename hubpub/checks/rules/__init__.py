"""The rule registry: an explicit list, so every rule is greppable. No TensorFlow import here.

To add a rule: write ``hubNNN_<slug>.py`` with CODE, NAME, SEVERITY, OPTIONS, DEFAULTS, a
docstring with the sections What / Why / Example / Fix, and ``check(module, options)``;
then add it to the import list and to ``_MODULES`` below.
"""

# ruff: noqa: I001  (one import line per rule, in registry order, on purpose)
from __future__ import annotations

from types import ModuleType

# --- rule imports (one line per rule module) ---
from hubpub.checks.rules import hub000_load_failure
from hubpub.checks.rules import hub001_unused_suppression
from hubpub.checks.rules import hub101_common_signature
from hubpub.checks.rules import hub102_fixed_batch
from hubpub.checks.rules import hub103_default_signature
from hubpub.checks.rules import hub104_unfed_placeholder
from hubpub.checks.rules import hub105_input_not_placeholder
from hubpub.checks.rules import hub201_regularization_losses
from hubpub.checks.rules import hub202_optimizer_regularization
from hubpub.checks.rules import hub203_batchnorm_momentum
from hubpub.checks.rules import hub204_dropout_outside_train
from hubpub.checks.rules import hub205_no_train_variant
from hubpub.checks.rules import hub206_batchnorm_updates
from hubpub.checks.rules import hub207_fine_tunable_without_trainables
from hubpub.checks.rules import hub208_optimizer_state
from hubpub.checks.rules import hub209_regularization_input
from hubpub.checks.rules import hub210_dropout_rate
from hubpub.checks.rules import hub211_batchnorm_training_in_inference
from hubpub.checks.rules import hub212_gradient_override
from hubpub.checks.rules import hub301_unsafe_ops
from hubpub.checks.rules import hub302_unknown_ops
from hubpub.checks.rules import hub303_leaked_paths
from hubpub.checks.rules import hub401_tarball_layout
from hubpub.checks.rules import hub402_unsupported_collections
from hubpub.checks.rules import hub403_outside_project
from hubpub.checks.rules import hub501_smoke_test
from hubpub.checks.rules import hub502_tf2_conversion
# --- end of rule imports ---

_MODULES: tuple[ModuleType, ...] = (
    # --- registered rules (one line per rule module) ---
    hub000_load_failure,
    hub001_unused_suppression,
    hub101_common_signature,
    hub102_fixed_batch,
    hub103_default_signature,
    hub104_unfed_placeholder,
    hub105_input_not_placeholder,
    hub201_regularization_losses,
    hub202_optimizer_regularization,
    hub203_batchnorm_momentum,
    hub204_dropout_outside_train,
    hub205_no_train_variant,
    hub206_batchnorm_updates,
    hub207_fine_tunable_without_trainables,
    hub208_optimizer_state,
    hub209_regularization_input,
    hub210_dropout_rate,
    hub211_batchnorm_training_in_inference,
    hub212_gradient_override,
    hub301_unsafe_ops,
    hub302_unknown_ops,
    hub303_leaked_paths,
    hub401_tarball_layout,
    hub402_unsupported_collections,
    hub403_outside_project,
    hub501_smoke_test,
    hub502_tf2_conversion,
    # --- end of registered rules ---
)

RULES: dict[str, ModuleType] = {m.CODE: m for m in _MODULES}


def get(code: str) -> ModuleType:
    """The rule module for ``code``; ValueError naming the code when there is none."""
    try:
        return RULES[code]
    except KeyError:
        raise ValueError(f"unknown rule {code!r}; `hubpub rules` lists them") from None
