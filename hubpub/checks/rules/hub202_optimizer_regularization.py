"""L1/L2 regularization set through Ftrl or proximal optimizer flags instead of the layers.

What: regularization strengths given to `FtrlOptimizer`, `ProximalGradientDescentOptimizer`,
`ProximalAdagradOptimizer` or Keras `Ftrl`, found in three places: (a) their update ops
(`ResourceApplyFtrl`, `ResourceApplyProximalAdagrad`, ... ) in the module graph, with the
non-zero `l1`/`l2`/`l2_shrinkage` strengths read from their constants (`?` where a
strength is not a constant, e.g. a Keras optimizer's hyperparameter variable; update ops whose
strengths are all zero are left to HUB208); (b) a call with a
non-zero `l1_regularization_strength`, `l2_regularization_strength` or
`l2_shrinkage_regularization_strength` (keyword or positional) in the training scripts the
manifest lists under `training_sources`; (c) Ftrl or ProximalAdagrad slot variables
(`<var>/Ftrl`, `<var>/Ftrl_1`, `<var>/ProximalAdagrad`) in the checkpoint the weights
come from, which shows how the weights were trained (the strengths are not recorded there).

Why: optimizer settings are not part of a module. A consumer who fine-tunes it uses its own
optimizer, so regularization that lived only in the publisher's optimizer is silently dropped
and the weights drift where the publisher's training kept them small or sparse.

Example: a training script with an L1 penalty in the optimizer (reported at train.py:LINE:COL):
    optimizer = tf.compat.v1.train.FtrlOptimizer(
        0.1, l1_regularization_strength=0.001)     # HUB202 (train.py:12:13)

Fix: move the penalty into the layers (`kernel_regularizer=tf_keras.regularizers.l1_l2(...)`)
so it is exported in `REGULARIZATION_LOSSES`, and train with an optimizer without
regularization flags. Never build the optimizer inside `module_fn`.
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hubpub.checks.findings import Hit, Location, Severity

if TYPE_CHECKING:
    from hubpub.spec.view import ModuleView, VariantView

CODE = "HUB202"
NAME = "optimizer-regularization"
SEVERITY = Severity.WARNING
OPTIONS: dict[str, type] = {}
DEFAULTS: dict[str, Any] = {}

LOG = logging.getLogger(__name__)

# Update op -> {strength: input index} (input order from the op definitions).
_FTRL = {"l1": 5, "l2": 6}
_FTRL_V2 = {"l1": 5, "l2": 6, "l2_shrinkage": 7}
_SPARSE_FTRL = {"l1": 6, "l2": 7}
_SPARSE_FTRL_V2 = {"l1": 6, "l2": 7, "l2_shrinkage": 8}
_PROXIMAL_GD = {"l1": 2, "l2": 3}
_PROXIMAL_ADAGRAD = {"l1": 3, "l2": 4}
UPDATE_OPS: dict[str, dict[str, int]] = {}
for _prefix in ("", "Resource"):
    UPDATE_OPS.update({
        f"{_prefix}ApplyFtrl": _FTRL,
        f"{_prefix}ApplyFtrlV2": _FTRL_V2,
        f"{_prefix}SparseApplyFtrl": _SPARSE_FTRL,
        f"{_prefix}SparseApplyFtrlV2": _SPARSE_FTRL_V2,
        f"{_prefix}ApplyProximalGradientDescent": _PROXIMAL_GD,
        f"{_prefix}SparseApplyProximalGradientDescent": _PROXIMAL_GD,
        f"{_prefix}ApplyProximalAdagrad": _PROXIMAL_ADAGRAD,
        f"{_prefix}SparseApplyProximalAdagrad": _PROXIMAL_ADAGRAD,
    })

# Optimizer class -> positional index of each strength argument (after ``self``).
CONSTRUCTORS: dict[str, dict[str, int]] = {
    "FtrlOptimizer": {"l1_regularization_strength": 3, "l2_regularization_strength": 4,
                      "l2_shrinkage_regularization_strength": 9},
    "ProximalAdagradOptimizer": {"l1_regularization_strength": 2,
                                 "l2_regularization_strength": 3},
    "ProximalGradientDescentOptimizer": {"l1_regularization_strength": 1,
                                         "l2_regularization_strength": 2},
    # Keras ``Ftrl`` (tf.keras, tf_keras, keras, and their ``legacy`` classes): the shrinkage
    # position differs between them, so it only counts as a keyword.
    "Ftrl": {"l1_regularization_strength": 3, "l2_regularization_strength": 4,
             "l2_shrinkage_regularization_strength": -1},
}

# Checkpoint keys of Ftrl / ProximalAdagrad slots: name-based (tf.compat.v1 Saver) and
# object-based (Keras: only Ftrl has a ``linear`` slot).
_SLOT_KEY = re.compile(r"/(?P<kind>Ftrl|ProximalAdagrad)(?:_\d+)?$"
                       r"|\.OPTIMIZER_SLOT/[^/]+/(?P<keras>linear)/")

_FOLDABLE = {"Identity", "Cast", "Add", "AddV2", "Sub", "Mul", "RealDiv", "Div", "Maximum",
             "Minimum", "Neg"}


def check(module: ModuleView, options: Mapping[str, Any]) -> Iterator[Hit]:
    for variant in module.variants:
        yield from _graph_hits(variant)
    for source in module.training_sources:
        yield from _source_hits(Path(source), module.path)
    if module.checkpoint_path:
        yield from _checkpoint_hits(module.checkpoint_path)


# --- (a) update ops in the module graph ---------------------------------------------------
def _graph_hits(variant: VariantView) -> Iterator[Hit]:
    groups: dict[tuple[str | None, str, str], list[Any]] = {}
    for fname, node in variant.iter_nodes():
        if node.op in UPDATE_OPS:
            scope = node.name.split("/update_")[0] if "/update_" in node.name else node.name
            groups.setdefault((fname, scope, node.op), []).append(node)
    for (fname, scope, op), nodes in groups.items():
        scope_nodes = variant.nodes if fname is None else {
            n.name: n for n in variant.functions[fname].node_def}
        strengths = {key: _fold(variant, scope_nodes, nodes[0].input[index])
                     for key, index in UPDATE_OPS[op].items() if index < len(nodes[0].input)}
        if strengths and all(value == 0 for value in strengths.values()):
            continue  # an optimizer without regularization: HUB208 reports its slots
        shown = ", ".join(f"{key}={'?' if value is None else f'{value:g}'}"
                          for key, value in strengths.items() if value != 0)
        where = f" inside function '{fname}'" if fname else ""
        node = nodes[0].name if fname is None else variant.function_callers.get(fname, [None])[0]
        yield Hit(
            f"optimizer '{scope}' regularizes through {op} ({shown}) on {len(nodes)} "
            f"variable(s){where}: consumers do not get optimizer flags; use layer regularizers "
            f"and keep the optimizer out of the module", variant.locate(node))


def _fold(variant: VariantView, nodes: Mapping[str, Any], ref: str, depth: int = 0) -> float | None:
    """A scalar input computed from constants only (``Ftrl/add`` = l2 + beta / (2 lr)), or None."""
    node = nodes.get(ref.lstrip("^").split(":")[0])
    if node is None or depth > 16:
        return None
    if node.op == "Const":
        value = variant.const_value(node)
        return float(value) if isinstance(value, (int, float)) else None
    if node.op not in _FOLDABLE:
        return None
    folded = [_fold(variant, nodes, i, depth + 1) for i in node.input if not i.startswith("^")]
    args = [a for a in folded if a is not None]
    if not args or len(args) != len(folded):
        return None
    if node.op in ("Identity", "Cast"):
        return args[0]
    if node.op == "Neg":
        return -args[0]
    a, b = args[0], args[1]
    if node.op in ("RealDiv", "Div"):
        return a / b if b else None
    return {"Add": a + b, "AddV2": a + b, "Sub": a - b, "Mul": a * b,
            "Maximum": max(a, b), "Minimum": min(a, b)}[node.op]


# --- (b) the publisher's training scripts ------------------------------------------------
def _source_hits(path: Path, module_path: str | None) -> Iterator[Hit]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        line = getattr(exc, "lineno", None)
        col = getattr(exc, "offset", None)
        yield Hit(f"training source {path} could not be scanned for optimizer regularization "
                  f"({type(exc).__name__}: {exc})",
                  Location(path=module_path, source=str(path), line=line, column=col))
        return
    aliases = _import_aliases(tree)
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        qualified = _qualified_name(call.func, aliases)
        if qualified is None:
            continue
        parts = qualified.split(".")
        cls = parts[-1]
        if cls not in CONSTRUCTORS or (cls == "Ftrl" and "optimizers" not in parts):
            continue
        found = [f"{key}={text}" for key, text in _strength_args(call, CONSTRUCTORS[cls])]
        if found:
            yield Hit(
                f"{qualified}({', '.join(found)}) regularizes through the optimizer: consumers "
                f"fine-tuning the module never get it; use layer regularizers instead",
                Location(path=module_path, source=str(path), line=call.lineno,
                         column=call.col_offset + 1))


def _import_aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> the dotted name it was imported as."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _qualified_name(func: ast.expr, aliases: Mapping[str, str]) -> str | None:
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    parts.append(aliases.get(func.id, func.id))
    return ".".join(reversed(parts))


def _strength_args(call: ast.Call, positions: Mapping[str, int]) -> Iterator[tuple[str, str]]:
    """(argument name, source text) of each strength that is set and not literally zero."""
    given = {kw.arg: kw.value for kw in call.keywords if kw.arg in positions}
    for key, index in positions.items():
        if key not in given and 0 <= index < len(call.args):
            arg = call.args[index]
            if not isinstance(arg, ast.Starred):
                given[key] = arg
    for key in positions:
        if key not in given:
            continue
        try:
            value = ast.literal_eval(given[key])
        except (ValueError, TypeError, SyntaxError):
            yield key, ast.unparse(given[key])  # an expression: it can be non-zero
            continue
        if isinstance(value, (int, float)) and value != 0:
            yield key, ast.unparse(given[key])


# --- (c) the checkpoint the weights come from --------------------------------------------
def _checkpoint_hits(checkpoint: str) -> Iterator[Hit]:
    keys = _checkpoint_keys(checkpoint)
    if keys is None:
        return
    by_kind: dict[str, list[str]] = {}
    for key in keys:
        match = _SLOT_KEY.search(key)
        if match:
            by_kind.setdefault("Ftrl" if match.group("keras") else match.group("kind"), []).append(key)
    for kind, slots in sorted(by_kind.items()):
        yield Hit(
            f"checkpoint holds {len(slots)} {kind} slot variable(s) (e.g. '{slots[0]}'): the "
            f"weights were trained with a {kind} optimizer, whose l1/l2 regularization "
            f"consumers do not get; use layer regularizers instead",
            Location(path=checkpoint))



def _checkpoint_keys(checkpoint: str) -> list[str] | None:
    """The keys of a checkpoint, or None when it cannot be read (other rules and the build say
    why). A TF2-format checkpoint's index is read without TensorFlow; anything else (a TF1 V1
    checkpoint, a folder) is listed by TensorFlow, as the weights loader will read it."""
    from hubpub.errors import ModuleFormatError
    from hubpub.spec.checkpoint_index import read_checkpoint_index

    index = Path(checkpoint + ".index")
    if index.is_file():
        try:
            return sorted(read_checkpoint_index(index).tensors)
        except ModuleFormatError as exc:
            LOG.debug("HUB202: cannot list checkpoint %s: %s", checkpoint, exc)
            return None
    from hubpub._tf import tf

    try:
        return [name for name, _ in tf.train.list_variables(checkpoint)]
    except (tf.errors.OpError, ValueError) as exc:
        LOG.debug("HUB202: cannot list checkpoint %s: %s", checkpoint, exc)
        return None
