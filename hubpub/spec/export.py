"""Exporting a spec: instantiate it, fill its variables, write it (``hubpub.spec.writing``).

A failed export leaves no module at the target path, and an existing module is never touched
(hubpub refuses to export onto it instead of overwriting it half-way).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hubpub._tf import tf
from hubpub.errors import SpecError, WeightsError
from hubpub.spec.checkpoint_writer import can_write, write_checkpoint
from hubpub.spec.writing import write_module

if TYPE_CHECKING:
    from hubpub.spec.instance import ModuleInstance
    from hubpub.spec.module_spec import ModuleSpec

__all__ = ["check_checkpoint", "export_latest_checkpoint", "export_spec", "latest_checkpoint"]

log = logging.getLogger(__name__)

def latest_checkpoint(training_dir: str | Path) -> str:
    """The newest checkpoint prefix in a training directory, or WeightsError."""
    if not tf.io.gfile.isdir(os.fspath(training_dir)):  # any TF filesystem, as the old library
        raise WeightsError(f"training directory {training_dir} does not exist")
    found = tf.train.latest_checkpoint(str(training_dir))
    if not found:
        raise WeightsError(f"{training_dir} holds no checkpoint (no 'checkpoint' state file "
                           "naming a model.ckpt-N prefix)")
    return found


def check_checkpoint(checkpoint_path: str, wanted: Mapping[str, Any]) -> None:
    """Every wanted checkpoint key exists with a matching shape; else one WeightsError listing all."""
    try:
        available = dict(tf.train.list_variables(checkpoint_path))
    except (tf.errors.OpError, ValueError) as exc:
        raise WeightsError(f"cannot read checkpoint {checkpoint_path}: "
                           f"{getattr(exc, 'message', exc)}") from exc
    problems = []
    for key, variable in sorted(wanted.items()):
        parts = variable if isinstance(variable, list) else [variable]
        if key not in available:
            problems.append(f"{key} is not found in the checkpoint")  # the old wording
            continue
        shape = _full_shape(parts)
        if shape is not None and list(available[key]) != shape:
            problems.append(f"{key} has shape {list(available[key])} in the checkpoint, which "
                            f"doesn't match with shape of the module's variable, {shape}")
    if problems:
        raise WeightsError(f"checkpoint {checkpoint_path} does not match the module's "
                           "variables: " + "; ".join(problems))


def _full_shape(parts: list) -> list[int] | None:
    info = getattr(parts[0], "_save_slice_info", None)
    if info is not None:
        return list(info.full_shape)
    return parts[0].shape.as_list() if parts[0].shape.is_fully_defined() else None


def export_spec(spec: ModuleSpec, path: str | Path, *, checkpoint_path: str | None,
                name_transform_fn: Callable[[str], str] | None = None,
                init_fn: Callable[[Any, Any], None] | None = None,
                values: Mapping[str, Any] | None = None,
                instance_type: type[ModuleInstance] | None = None) -> Path | str:
    """Instantiate the spec in a new graph, fill its variables, and export it.

    Weights come from ``checkpoint_path`` (keys through ``name_transform_fn``), else from the
    variables' initializers; ``values`` (variable name -> array) are fed straight into those
    variables' initializers, so a big matrix is never held twice nor put in the graph; then
    ``init_fn(module, session)`` may assign more. ``instance_type`` is what ``module`` is: a
    ``ModuleInstance`` by default; ``hubpub.consumer.module.Module`` when the hook may apply it.
    """
    from hubpub.spec.instance import ModuleInstance

    _check_export_variant_has_all_variables(spec)
    with tf.Graph().as_default():
        tags = () if spec.has_variant(()) else spec.sorted_tags()[0]
        module = (instance_type or ModuleInstance)(spec, tags=tags)
        if checkpoint_path is not None and module.variable_map:
            transform = name_transform_fn or (lambda name: name)
            assignment = {transform(k): v for k, v in module.variable_map.items()}
            check_checkpoint(checkpoint_path, assignment)
            tf.compat.v1.train.init_from_checkpoint(checkpoint_path, assignment)
        fed = _fed_variables(module, values or {})
        if checkpoint_path is None and init_fn is None and _values_are_the_weights(fed, values):
            assert values is not None  # fed is empty without values
            # The values are every weight: written straight from the arrays, never copied into
            # TensorFlow variables (the files are what the Saver would write).
            return write_module(spec.saved_model, path, write_variables=lambda prefix:
                                write_checkpoint(prefix, values))
        with tf.compat.v1.Session() as session:
            others = [v for v in tf.compat.v1.global_variables() if v not in fed.values()]
            session.run(tf.compat.v1.variables_initializer(others))
            for name, variable in fed.items():
                assert values is not None  # fed is empty without values
                initializer = variable.initializer
                session.run(initializer, {initializer.inputs[1]: values[name]})
            if init_fn is not None:
                init_fn(module, session)
            exported = module.export(path, session)
    _release_fed_arrays()
    return exported


def _release_fed_arrays() -> None:
    """Let TensorFlow drop the NumPy arrays it fed without copying.

    TensorFlow borrows an aligned fed array instead of copying it, and queues the release of
    that reference until its next session run: without one, a multi-gigabyte matrix would stay
    resident through packing and the smoke test.
    """
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        session.run(tf.constant(0))


def _values_are_the_weights(fed: Mapping[str, Any], values: Mapping[str, Any] | None) -> bool:
    """Whether ``values`` give every variable of the module, each plain (not partitioned), with
    its exact shape and dtype, as arrays the checkpoint writer stores."""
    variables = tf.compat.v1.global_variables()
    if not values or len(fed) != len(variables):
        return False
    for name, variable in fed.items():
        value = values[name]
        if isinstance(variable, list) or not can_write(value):
            return False
        if (not variable.shape.is_fully_defined() or tuple(variable.shape) != value.shape
                or variable.dtype.base_dtype.as_numpy_dtype != value.dtype):
            return False
    return True


def _fed_variables(module: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(module.variable_map))
    if unknown:
        raise WeightsError(f"values given for {unknown}, which are not variables of the module "
                           f"(it has {sorted(module.variable_map)})")
    return {name: module.variable_map[name] for name in values}


def _check_export_variant_has_all_variables(spec: ModuleSpec) -> None:
    """Only the exported variant's variables are saved: others must not need more."""
    from hubpub.spec.view import VariantView

    tags = () if spec.has_variant(()) else sorted(spec.sorted_tags()[0])
    exported = {v.name for v in VariantView(spec.meta_graph(tags)).variables}
    for other in spec.sorted_tags():
        missing = sorted({v.name for v in VariantView(spec.meta_graph(other)).variables} - exported)
        if missing:
            raise SpecError(
                f"variables {missing} exist in variant {sorted(other)} but not in the exported "
                f"variant {list(tags)}, so they would be missing from the checkpoint; create "
                "every variable in every variant.")


def export_latest_checkpoint(spec: ModuleSpec, training_dir: str | Path, export_path: str | Path, *,
                             scope: str | None = None) -> Path | str:
    """The LatestModuleExporter replacement: export with the newest checkpoint of a training run.

    ``scope`` is the module's variable scope in the training graph (e.g. ``module``), so that
    checkpoint key ``module/dense/kernel`` fills module variable ``dense/kernel``.
    """
    checkpoint = latest_checkpoint(training_dir)
    transform = (lambda name: f"{scope.rstrip('/')}/{name}") if scope else None
    return export_spec(spec, export_path, checkpoint_path=checkpoint, name_transform_fn=transform)
