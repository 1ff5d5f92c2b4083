"""The smoke test: load an exported module in a fresh process and run every signature.

Each variant is loaded twice, with ``hubpub.Module`` in a TF1 graph and with TF2's
``tf.saved_model.load(dir, tags=[...])`` (what ``hub.load`` does), on inputs made from the
declared dtypes and shapes. Inference variants must give the same outputs both ways.
A fresh process proves the module stands alone: nothing of the building process leaks in.
The child is confined (``hubpub.execution.sandbox``): it runs in a private temporary folder, which is
also its HOME and TMPDIR, and where the platform allows it cannot write anywhere else.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hubpub.execution.publisher import TIMEOUT_SECONDS
from hubpub.files.outdir import hold_lock, remove_stale_staging

if TYPE_CHECKING:
    from hubpub.spec.module_spec import ModuleSpec

__all__ = ["SMOKE_PREFIX", "InProcessSmokeRun", "SmokeResult", "SmokeRun", "run_smoke_test",
           "signature_inputs", "signature_outputs", "start_smoke_test"]

BATCH = 2
SMOKE_PREFIX = "hubpub-smoke-"  # the child's private folder, in the system temp folder
_OPTIONS_ENV = "HUBPUB_SMOKE_OPTIONS"  # JSON: run_smoke_test's keyword arguments, for the child


@dataclass
class SmokeResult:
    problems: list[str] = field(default_factory=list)
    signatures: list[dict[str, Any]] = field(default_factory=list)
    confinement: str = ""  # what the child could not do (hubpub.execution.sandbox.confine)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": self.problems, "signatures": self.signatures,
                "confinement": self.confinement}


class SmokeRun:
    """A smoke test in a child process.

    The child can start before the module exists (``SmokeRun()``): it imports TensorFlow,
    which takes seconds, while the build parses weights and exports; ``test(module_dir)``
    then tells it what to load, and ``wait()`` collects the result.
    """

    def __init__(self, module_dir: Path | None = None, tf2_dir: Path | None = None, *,
                 timeout: float = TIMEOUT_SECONDS, readable: Sequence[Path] = (),
                 fine_tune: bool = True, requires: Sequence[str] = ()) -> None:
        from hubpub.execution.process_exit import child_environment
        from hubpub.execution.sandbox import child_env

        self.timeout = timeout
        argv = [sys.executable, "-m", "hubpub.execution.smoke"]
        if module_dir is not None:  # resolved: the child runs in its own folder
            argv.append(str(Path(module_dir).resolve()))
            if tf2_dir is not None:
                argv.append(str(Path(tf2_dir).resolve()))
        # Private folders of smoke tests whose build was killed (SIGKILL) go first.
        remove_stale_staging(Path(tempfile.gettempdir()), prefix=SMOKE_PREFIX)
        self._folder = Path(tempfile.mkdtemp(prefix=SMOKE_PREFIX))
        self._lock = hold_lock(self._folder)
        try:
            self._process = subprocess.Popen(
                argv, stdin=subprocess.PIPE if module_dir is None else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=self._folder,
                env={**child_environment(child_env(  # it dies with this process
                    self._folder, readable=[p for p in (module_dir, tf2_dir, *readable) if p])),
                     _OPTIONS_ENV: json.dumps({"fine_tune": fine_tune,
                                               "requires": list(requires)})})
        except BaseException:
            self._remove_folder()
            raise

    def _remove_folder(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def test(self, module_dir: Path, tf2_dir: Path | None = None) -> None:
        """Give a child started without a module the directory to smoke-test (and its TF2
        export, checked against the module's inference variant)."""
        stdin, self._process.stdin = self._process.stdin, None  # communicate() must not touch it
        line = str(Path(module_dir).resolve())
        if tf2_dir is not None:
            line += f"\t{Path(tf2_dir).resolve()}"
        assert stdin is not None  # started with stdin=PIPE; test() runs once
        try:
            stdin.write(f"{line}\n")
            stdin.close()
        except BrokenPipeError:  # the child died early; wait() reports what it printed
            pass

    def cancel(self) -> None:
        """Stop the child if it is still running (a build that failed before the test)."""
        if self._process.returncode is None:
            self._process.kill()
            self._process.communicate()
        self._remove_folder()

    def wait(self) -> SmokeResult:
        try:
            out, err = self._process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.communicate()
            return SmokeResult([f"smoke test did not finish in {self.timeout:g} s and was "
                                f"stopped; if the module is just slow, raise the limit with "
                                f"--timeout SECONDS"])
        finally:
            self._remove_folder()
        try:  # a child that ends without its result (or not with 0) failed, whatever it says
            if self._process.returncode != 0:
                raise ValueError(self._process.returncode)
            data = json.loads(out.strip().splitlines()[-1])
            return SmokeResult(data["problems"], data["signatures"], data.get("confinement", ""))
        except (ValueError, IndexError, KeyError, TypeError):
            from hubpub.execution.process_exit import missing_result

            return SmokeResult([missing_result("the smoke test process",
                                               self._process.returncode, err)])


class InProcessSmokeRun:
    """The smoke test of a module whose graph is hubpub's own (a built-in recipe's), run on a
    thread of the building process, beside packing.

    A fresh, confined child guards against what publisher code can leave in a process (custom
    op libraries, ``py_func`` callbacks, hostile ops); a recipe's graph has none of that, and a
    second TensorFlow would double the build's memory for small modules (about 620 MB).
    Same interface as ``SmokeRun``: ``test(module_dir)``, ``wait()``, ``cancel()``.
    """

    CONFINEMENT = ("none needed: run in the build process, on a graph of hubpub's own recipe "
                   "(no publisher code)")

    def __init__(self, *, fine_tune: bool = True, requires: Sequence[str] = ()) -> None:
        self._thread: threading.Thread | None = None
        self._result = SmokeResult(["the smoke test did not run"])
        self._fine_tune = fine_tune
        self._requires = list(requires)

    def test(self, module_dir: Path, tf2_dir: Path | None = None) -> None:
        def run() -> None:
            try:
                self._result = run_smoke_test(module_dir, tf2_dir, fine_tune=self._fine_tune,
                                              requires=self._requires)
            except Exception as exc:  # the module is what is under test: report, don't crash
                self._result = SmokeResult([f"smoke test failed: {type(exc).__name__}: {exc}"])
            self._result.confinement = self.CONFINEMENT

        # A daemon: a build stopped by its time limit must not wait for it.
        self._thread = threading.Thread(target=run, name="hubpub-smoke-test", daemon=True)
        self._thread.start()

    def wait(self) -> SmokeResult:
        if self._thread is not None:
            self._thread.join()
        return self._result

    def cancel(self) -> None:
        """Nothing to stop: a failed build drops the result (the thread is a daemon)."""


def start_smoke_test(module_dir: Path | None = None, tf2_dir: Path | None = None, *,
                     timeout: float = TIMEOUT_SECONDS, in_process: bool = False,
                     readable: Sequence[Path] = (), fine_tune: bool = True,
                     requires: Sequence[str] = ()) -> SmokeRun | InProcessSmokeRun:
    """Start the child process; without ``module_dir``, call ``test(module_dir)`` later, with
    a module inside one of the existing folders ``readable`` (the only ones it may read).

    ``in_process`` runs it on a thread of this process instead (``InProcessSmokeRun``): only
    for modules whose graph no publisher code wrote. ``fine_tune=False`` (the manifest says
    ``fine_tunable: false``) skips the training step. ``requires``: the manifest's op
    libraries, imported first (known libraries the module records are imported anyway).
    """
    if in_process:
        run = InProcessSmokeRun(fine_tune=fine_tune, requires=requires)
        if module_dir is not None:
            run.test(module_dir, tf2_dir)
        return run
    return SmokeRun(module_dir, tf2_dir, timeout=timeout, readable=readable,
                    fine_tune=fine_tune, requires=requires)


# --- what runs in the child process ----------------------------------------------------------

def _example_value(key: str, info: Any, image_size: list[int] | None, rng: Any) -> Any:
    """A batch of plausible values for one signature input, as a TF value (built in-graph)."""
    import numpy as np

    from hubpub._tf import tf

    shape = info.get_shape()
    dims = [BATCH] if shape.rank is None else [
        (BATCH if i == 0 else 8) if d is None else d for i, d in enumerate(shape.as_list())]
    is_image = (key == "images" or (len(dims) == 4 and dims[-1] == 3)) and info.dtype.is_floating
    if is_image and image_size and len(dims) == 4:
        dims[1:3] = image_size
    if info.is_sparse:
        dense_shape = [BATCH, 8] if shape.rank is None else dims
        indices = np.array([[i] + [0] * (len(dense_shape) - 1) for i in range(BATCH)], np.int64)
        values = _dense_values(info.dtype, [BATCH], rng, image=False)
        return tf.SparseTensor(indices, values, dense_shape)
    if info.is_composite:
        flat = _dense_values(info.dtype, [BATCH * 2], rng, image=False)
        return tf.RaggedTensor.from_row_lengths(flat, [2] * BATCH)
    return tf.constant(_dense_values(info.dtype, dims, rng, image=is_image))


def _dense_values(dtype: Any, dims: list[int], rng: Any, *, image: bool) -> Any:
    import numpy as np

    words = np.array([b"the quick brown fox", b"hello world", b"", b"cat dog"], dtype=object)
    size = int(np.prod(dims)) if dims else 1
    if dtype.name == "string":
        return np.resize(words, size).reshape(dims)
    if dtype.is_floating:
        values = rng.uniform(0, 1, size) if image else rng.standard_normal(size)
        return values.astype(dtype.as_numpy_dtype).reshape(dims)
    if dtype.is_bool:
        return np.zeros(dims, bool)
    return np.zeros(dims, dtype.as_numpy_dtype)


def signature_outputs(module_dir: str, tags: frozenset, inputs: dict) -> dict[str, dict]:
    """Run the signatures named in ``inputs`` (name -> input maker) with ``hubpub.Module``."""
    from hubpub._tf import tf
    from hubpub.consumer.module import Module

    with tf.Graph().as_default():
        module = Module(module_dir, tags=tags)
        fetches = {name: module(make(), signature=name, as_dict=True)
                   for name, make in inputs.items()}
        with tf.compat.v1.Session() as session:
            session.run([tf.compat.v1.global_variables_initializer(),
                         tf.compat.v1.tables_initializer()])
            return session.run(fetches)


def _tf2_outputs(module_dir: str, tags: frozenset, inputs: dict) -> dict[str, dict]:
    from hubpub._tf import tf

    loaded = tf.saved_model.load(module_dir, tags=sorted(tags))
    out = {}
    for name, function in loaded.signatures.items():
        kwargs = {}
        for key, value in inputs[name]().items():
            if isinstance(value, tf.SparseTensor):
                kwargs.update({f"{key}_indices": value.indices, f"{key}_values": value.values,
                               f"{key}_dense_shape": value.dense_shape})
            elif isinstance(value, tf.RaggedTensor):
                for i, part in enumerate(tf.nest.flatten(value, expand_composites=True)):
                    kwargs[f"{key}_component_{i}"] = part
            else:
                kwargs[key] = value
        out[name] = {k: _numpy(v) for k, v in function(**kwargs).items()}
    return out


def _numpy(value: Any) -> Any:
    return value.numpy() if hasattr(value, "numpy") else value


def _describe(value: Any) -> dict[str, Any]:
    import numpy as np

    if hasattr(value, "values") and hasattr(value, "dense_shape"):
        return {"kind": "sparse", "dense_shape": np.asarray(value.dense_shape).tolist()}
    array = np.asarray(value)
    return {"dtype": str(array.dtype), "shape": list(array.shape)}


def _compare(name: str, variant: str, tf1: dict, tf2: dict, problems: list[str]) -> None:
    import numpy as np

    for key, value in tf1.items():
        if key not in tf2:
            problems.append(f"variant {variant} signature '{name}': output '{key}' missing "
                            "when loaded with tf.saved_model.load")
            continue
        a, b = np.asarray(value), np.asarray(tf2[key])
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            problems.append(f"variant {variant} signature '{name}': output '{key}' has NaN/inf")
        if a.shape != b.shape or (a.dtype.kind in "fiu" and not np.allclose(a, b, rtol=1e-4,
                                                                            atol=1e-5)):
            problems.append(f"variant {variant} signature '{name}': output '{key}' differs "
                            "between hubpub.Module and tf.saved_model.load")


def _image_size(spec: ModuleSpec, tags: frozenset, infos: dict) -> list[int] | None:
    """The variant's attached image size, else the `images` input's height and width."""
    from hubpub.spec.image import IMAGE_MODULE_INFO_KEY, ImageModuleInfo

    info = spec.get_attached_message(IMAGE_MODULE_INFO_KEY, ImageModuleInfo, tags=tags)
    if info is not None and info.default_image_size.height and info.default_image_size.width:
        return [info.default_image_size.height, info.default_image_size.width]
    shape = infos["images"].get_shape()
    if shape.rank == 4 and shape[1] is not None and shape[2] is not None:
        return [shape[1], shape[2]]
    return None


def signature_inputs(spec: ModuleSpec, tags: frozenset) -> dict[str, Any]:
    """For each signature, a function making its example inputs (the same values each call)."""
    import numpy as np

    inputs: dict[str, Any] = {}
    for name in spec.get_signature_names(tags):
        infos = spec.get_input_info_dict(name, tags)
        size = _image_size(spec, tags, infos) if "images" in infos else None

        def make(infos: dict = infos, size: list | None = size, seed: int = len(inputs)) -> dict:
            rng = np.random.default_rng(seed)
            return {k: _example_value(k, info, size, rng) for k, info in sorted(infos.items())}

        inputs[name] = make
    return inputs


def training_tags(spec: ModuleSpec) -> list[frozenset]:
    """The variants consumers fine-tune: those tagged 'train', else the inference variant."""
    tagged = [tags for tags in spec.sorted_tags() if "train" in tags]
    return tagged or [_inference_tags(spec)]


def run_smoke_test(module_dir: str | Path, tf2_dir: str | Path | None = None, *,
                   fine_tune: bool = True, requires: Sequence[str] = ()) -> SmokeResult:
    """Load every variant both ways and run every signature (in this process).

    With ``fine_tune`` (the manifest's ``fine_tunable`` is not false), take one training step
    of each variant consumers fine-tune (``hubpub.execution.smoke_finetune``). With
    ``tf2_dir``, also check the TF2 export of the module against its inference variant.
    ``requires`` (the manifest's op libraries) and the known ones the module records are
    imported first.
    """
    from hubpub.errors import SpecError
    from hubpub.execution.smoke_finetune import (
        inference_update_problems,
        tf1_fine_tuning_problems,
    )
    from hubpub.spec.loading import load_module_spec
    from hubpub.spec.requirements import import_requirements, recorded_requirements

    module_dir = str(module_dir)
    result = SmokeResult()
    spec = load_module_spec(module_dir)
    try:
        import_requirements(requires)
        import_requirements(recorded_requirements(spec.saved_model.meta_graphs),
                            only_known=True)
    except SpecError as exc:
        return SmokeResult([str(exc)])
    trained = training_tags(spec) if fine_tune else []
    for tags in spec.sorted_tags():
        variant = "{" + ",".join(sorted(tags)) + "}"
        inputs = signature_inputs(spec, tags)
        try:
            tf1 = signature_outputs(module_dir, tags, inputs)
        except Exception as exc:  # the module is what is under test: report, don't crash
            result.problems.append(f"variant {variant}: hubpub.Module failed: "
                                   f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        try:
            tf2 = _tf2_outputs(module_dir, tags, inputs)
        except Exception as exc:
            result.problems.append(f"variant {variant}: tf.saved_model.load failed: "
                                   f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
            tf2 = None
        for name, outputs in sorted(tf1.items()):
            result.signatures.append({
                "variant": sorted(tags), "signature": name,
                "outputs": {k: _describe(v) for k, v in sorted(outputs.items())}})
            if tf2 is not None and "train" not in tags:
                _compare(name, variant, outputs, tf2.get(name, {}), result.problems)
        if tags in trained:
            result.problems.extend(tf1_fine_tuning_problems(module_dir, tags, inputs))
        elif trained:
            result.problems.extend(inference_update_problems(spec.meta_graph(tags), trained[0]))
        if tf2_dir is not None and tags == _inference_tags(spec):
            from hubpub.execution.smoke_tf2 import check_tf2_export

            result.problems.extend(check_tf2_export(
                str(tf2_dir), tf1, inputs, fine_tune=fine_tune,
                has_updates=_has_update_ops(spec.meta_graph(trained[0])) if trained else False))
    return result


def _has_update_ops(meta: Any) -> bool:
    from hubpub._tf import tf

    key = tf.compat.v1.GraphKeys.UPDATE_OPS
    return key in meta.collection_def and bool(meta.collection_def[key].node_list.value)


def _inference_tags(spec: ModuleSpec) -> frozenset:
    tags = spec.get_tags()
    return frozenset() if frozenset() in tags else frozenset(tags[0])


def main(argv: list[str] | None = None) -> int:
    """The child: the result is the last line on stdout; anything the module prints goes to
    stderr, so it cannot corrupt or fake the result."""
    argv = sys.argv[1:] if argv is None else argv
    from hubpub.execution.process_exit import die_with_parent
    from hubpub.execution.sandbox import confine_from_env

    die_with_parent()  # a build killed with SIGKILL takes its smoke test with it
    # First, while this process has one thread: Landlock binds the threads started later.
    confinement = confine_from_env()
    sys.stdout.flush()
    result_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    if not argv:
        import hubpub.consumer.module  # noqa: F401  (the slow imports, done while the parent works)

        line = sys.stdin.readline().strip()
        if not line:  # the parent gave up before there was a module to test: no result
            return 2
        argv = line.split("\t")  # the module, and its TF2 export when there is one
    options = json.loads(os.environ.get(_OPTIONS_ENV) or "{}")
    result = run_smoke_test(*argv[:2], fine_tune=bool(options.get("fine_tune", True)),
                            requires=[str(n) for n in options.get("requires", [])])
    result.confinement = confinement
    with os.fdopen(result_fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(result.to_json()) + "\n")
    return 0


if __name__ == "__main__":
    from hubpub.execution.process_exit import exit_process

    exit_process(main())
