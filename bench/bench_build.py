"""Benchmark: building the text-embedding example from a big file, against the old way.

Generates a W x D embedding text file (default 200,000 x 300; --rows/--dim scale it), then
runs, each in a fresh process, on the same file:

  tf-hub 0.15   the tensorflow_hub 0.15 way, as its examples/text_embeddings exporter did it:
                every number parsed into a Python float, a float64 matrix, the padded matrix
                fed through a placeholder, hub.Module.export, then `tar -czf`. Only when
                tensorflow_hub 0.15 can be imported (see tests/oracle.py).
  hubpub build  `python -m hubpub build` on a manifest using the text_embedding recipe:
                checks, export, smoke test (in the build process: a recipe's graph is
                hubpub's own) and the reproducible tarball included.
  hubpub export (--library) the recipe through the library only: parse, create_module_spec,
                export_spec given the recipe's values (as the build does).

For each process it prints wall time, peak RSS (largest single process, from wait4) and
peak tree RSS (sum over the process and its children, sampled every 20 ms, so child
processes count), and the steps each process reported, with MB/s of the text file for
parsing steps and of the tarball for packing steps.

    python bench/bench_build.py                    # 200,000 x 300 (about 570 MB of text)
    python bench/bench_build.py --rows 50000       # the quick run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OOV_BUCKETS = 1


# --- the input file ---------------------------------------------------------------------------

def generate(path: Path, rows: int, dim: int, *, seed: int = 0) -> None:
    """Write 'w<i> v1 ... vD' lines; values like GloVe's (|v| < 10, six decimals), fast.

    Numbers are formatted with numpy arithmetic into fixed-width byte fields; a NUL marks the
    unused sign position and is removed afterwards, so fields have their natural width.
    """
    rng = np.random.default_rng(seed)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as out:
        for start in range(0, rows, 5000):
            n = min(5000, rows - start)
            values = np.clip(rng.standard_normal((n, dim)) * 0.5, -9.999999, 9.999999)
            micro = np.rint(np.abs(values) * 1e6).astype(np.int64)
            field = np.empty((n, dim, 10), np.uint8)
            field[..., 0] = ord(" ")
            field[..., 1] = np.where(values < 0, ord("-"), 0)
            field[..., 2] = ord("0") + micro // 1_000_000
            field[..., 3] = ord(".")
            for k in range(6):
                field[..., 4 + k] = ord("0") + (micro // 10 ** (5 - k)) % 10
            body = field.reshape(n, dim * 10)
            text = b"\n".join(b"w%d%s" % (start + i, body[i].tobytes()) for i in range(n))
            out.write(text.replace(b"\x00", b"") + b"\n")
    tmp.replace(path)


# --- measuring a process ----------------------------------------------------------------------

def _cat_seconds(path: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def _tree_rss_kb(pid: int) -> int:
    """VmRSS summed over a process and its descendants.

    A child that has not yet run ``exec`` (its command line is still its parent's) shares the
    parent's memory (vfork, or fork's copy-on-write), so it is not counted again.
    """
    total, stack = 0, [(pid, None)]
    while stack:
        current, parent_cmdline = stack.pop()
        try:
            with open(f"/proc/{current}/cmdline", "rb") as cmdline_file:
                cmdline = cmdline_file.read()
            if cmdline != parent_cmdline:
                with open(f"/proc/{current}/status") as status:
                    for line in status:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
                            break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack.extend((int(c), cmdline) for c in children.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def measure(command: list[str], *, env: dict[str, str] | None = None) -> dict:
    """Run a command; wall seconds, peak RSS of one process, sampled peak of the tree."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=REPO)
        peak_tree = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_tree
            while not done.is_set():
                peak_tree = max(peak_tree, _tree_rss_kb(process.pid))
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)  # rusage of this child alone
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        return {"wall": wall, "peak_mb": usage.ru_maxrss / 1024, "tree_mb": peak_tree / 1024,
                "cpu": usage.ru_utime + usage.ru_stime,  # with the children it waited for
                "returncode": process.returncode,
                "stdout": out.read().decode("utf-8", "replace"),
                "stderr": err.read().decode("utf-8", "replace")}


# --- child processes: each prints its steps as one JSON line ----------------------------------

class Steps:
    """Step timings and the process's RSS high-water mark after each step."""

    def __init__(self) -> None:
        self.steps: list[dict] = []
        self._start = time.perf_counter()

    def done(self, name: str, *, text_bytes: int = 0, out_bytes: int = 0) -> None:
        now = time.perf_counter()
        self.steps.append({"step": name, "seconds": now - self._start, "hwm_mb": _hwm_mb(),
                           "text_bytes": text_bytes, "out_bytes": out_bytes})
        self._start = now

    def emit(self) -> None:
        print("BENCH " + json.dumps(self.steps))


def _hwm_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _tar(module_dir: Path, tarball: Path) -> None:
    subprocess.run(["tar", "-czf", str(tarball), "-C", str(module_dir), "."], check=True)


def child_baseline(text: Path, work: Path) -> None:
    """The tensorflow_hub 0.15 way (written for this benchmark, after the old exporter)."""
    steps = Steps()
    sys.path.insert(0, str(REPO))
    import pytest

    from tests.oracle import import_tensorflow_hub

    try:
        hub = import_tensorflow_hub()
    except pytest.skip.Exception as exc:
        print("SKIP " + str(exc))
        return
    from hubpub._tf import tf

    steps.done("import tensorflow, tensorflow_hub")

    def load() -> tuple[list[str], np.ndarray]:
        tokens, rows = [], []
        with text.open(encoding="utf-8") as lines:
            for line in lines:
                columns = line.split()
                tokens.append(columns[0])
                rows.append([float(c) for c in columns[1:]])
        return tokens, np.array(rows)

    tokens, matrix = load()
    matrix = np.concatenate([matrix, np.zeros((OOV_BUCKETS, matrix.shape[1]))])
    vocab = work / "tokens.txt"
    vocab.write_text("\n".join(tokens), encoding="utf-8")
    steps.done("parse into Python floats", text_bytes=text.stat().st_size)

    num_tokens, dim = len(tokens), matrix.shape[1]

    def module_fn() -> None:
        embeddings = tf.compat.v1.get_variable(
            "embeddings", [num_tokens + OOV_BUCKETS, dim],
            initializer=tf.compat.v1.zeros_initializer())
        table = tf.compat.v1.lookup.StaticVocabularyTable(
            tf.compat.v1.lookup.TextFileInitializer(
                str(vocab), tf.string, tf.lookup.TextFileIndex.WHOLE_LINE, tf.int64,
                tf.lookup.TextFileIndex.LINE_NUMBER), OOV_BUCKETS)
        sentences = tf.compat.v1.placeholder(tf.string, [None], name="sentences")
        words = tf.compat.v1.string_split(tf.strings.regex_replace(sentences, r"\pP", ""),
                                          sep=" ")
        ids = tf.SparseTensor(words.indices, table.lookup(words.values), words.dense_shape)
        ids, _ = tf.sparse.fill_empty_rows(ids, table.lookup(tf.constant("")))
        ids = tf.SparseTensor(ids.indices, ids.values,
                              [ids.dense_shape[0], tf.maximum(ids.dense_shape[1], 1)])
        vectors = tf.nn.embedding_lookup_sparse(embeddings, ids, None, combiner="sqrtn")
        hub.add_signature("default", {"sentences": sentences}, {"default": vectors})

    spec = hub.create_module_spec(module_fn)
    module_dir = work / "module"
    with tf.Graph().as_default():
        module = hub.Module(spec)
        value = tf.compat.v1.placeholder(tf.float32)
        assign = tf.compat.v1.assign(module.variable_map["embeddings"], value)
        steps.done("create_module_spec, hub.Module")
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            session.run(assign, {value: matrix})
            module.export(str(module_dir), session)
    steps.done("assign through a placeholder, Module.export")
    tarball = work / "module.tar.gz"
    _tar(module_dir, tarball)
    steps.done("tar -czf", out_bytes=tarball.stat().st_size)
    steps.emit()


def child_library(text: Path, work: Path) -> None:
    """hubpub's recipe through the library: no checks, no smoke test."""
    steps = Steps()
    import hubpub
    from hubpub.recipes.text_embedding import TextEmbeddingRecipe
    from hubpub.spec.export import export_spec

    steps.done("import hubpub, tensorflow")
    section = {"name": "text_embedding", "embedding_file": text.name,
               "num_oov_buckets": OOV_BUCKETS}
    recipe = TextEmbeddingRecipe.from_manifest_section(section, text.parent)
    steps.done("read_embedding_file", text_bytes=text.stat().st_size)
    spec = hubpub.create_module_spec(recipe.module_fn, recipe.tags_and_args)
    steps.done("create_module_spec")
    module_dir = work / "module"
    export_spec(spec, module_dir, checkpoint_path=None, values=recipe.variable_values())
    steps.done("export_spec with the values")
    try:
        from hubpub.files.package import pack
    except ImportError:
        pack = None
    if pack is not None:
        packed = pack(module_dir, work / "module.tar.gz")
        steps.done("hubpub.files.package.pack", out_bytes=packed.size)
    steps.emit()


# --- the parent -------------------------------------------------------------------------------

def write_manifest(folder: Path, text: Path) -> Path:
    manifest = folder / "hubpub.yaml"
    manifest.write_text(
        "module:\n  handle: bench/text-embedding\n  version: 1\n"
        f"recipe:\n  name: text_embedding\n  embedding_file: {text}\n"
        f"  num_oov_buckets: {OOV_BUCKETS}\n  preprocess_text: true\n"
        "signatures:\n  default: text_embedding\n"
        "metadata:\n  description: benchmark\n  license: Apache-2.0\n  fine_tunable: true\n"
        "  task: text-embedding\n  language: en\n"
        "output: dist\n")
    return manifest


def _child_steps(stdout: str) -> list[dict]:
    for line in stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[len("BENCH "):])
    return []


def _build_steps(out_dir: Path, text_bytes: int) -> list[dict]:
    report = out_dir / "build-report.json"
    if not report.is_file():
        return []
    data = json.loads(report.read_text())
    tar_bytes = data.get("tarball", {}).get("bytes", 0)
    return [{"step": name, "seconds": seconds, "hwm_mb": None,
             "text_bytes": text_bytes if name == "load" else 0,
             "out_bytes": tar_bytes if name == "pack" else 0}
            for name, seconds in data.get("timings", {}).items()]


def _rate(nbytes: int, seconds: float) -> str:
    return f"{nbytes / 1e6 / seconds:8.1f}" if nbytes and seconds > 0 else f"{'':8}"


def print_table(text_bytes: int, runs: list[tuple[str, dict, list[dict]]]) -> None:
    print(f"\n{'approach':14} {'step':44} {'wall s':>8} {'peak RSS MB':>12} "
          f"{'tree RSS MB':>12} {'MB/s':>8} {'CPU s':>8}")
    for name, result, steps in runs:
        for step in steps:
            hwm = f"{step['hwm_mb']:12.0f}" if step.get("hwm_mb") else f"{'':12}"
            rate = _rate(step["text_bytes"] or step["out_bytes"], step["seconds"])
            print(f"{name:14} {step['step']:44} {step['seconds']:8.2f} {hwm} {'':12} {rate}")
        status = "" if result["returncode"] == 0 else f" (exit {result['returncode']})"
        print(f"{name:14} {'whole process' + status:44} {result['wall']:8.2f} "
              f"{result['peak_mb']:12.0f} {result['tree_mb']:12.0f} "
              f"{_rate(text_bytes, result['wall'])} {result['cpu']:8.1f}")
    print("\nMB/s: of the text file for parsing steps and whole processes, of the tarball for "
          "packing steps. peak RSS: largest single process; tree RSS: sum over the process "
          "and its children (sampled). CPU s: user + system time of the process and its "
          "children, the steadier figure on a shared machine.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--workdir", type=Path, help="keep files here (default: a temp dir)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--library", action="store_true",
                        help="also run the recipe through the library (no checks, no smoke)")
    parser.add_argument("--child", choices=["baseline", "library"], help=argparse.SUPPRESS)
    parser.add_argument("--text", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "baseline":
        child_baseline(args.text, args.work)
        return 0
    if args.child == "library":
        child_library(args.text, args.work)
        return 0

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hubpub-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    text = workdir / f"embeddings-{args.rows}x{args.dim}.txt"
    if not text.is_file():
        start = time.perf_counter()
        generate(text, args.rows, args.dim)
        print(f"generated {text} ({text.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - start:.1f} s")
    text_bytes = text.stat().st_size
    floor = _cat_seconds(text)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = []
    try:
        plans = [] if args.skip_baseline else [("tf-hub 0.15", "baseline")]
        plans += [("hubpub export", "library")] if args.library else []
        for name, child in plans:
            work = workdir / child
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            result = measure([sys.executable, __file__, "--child", child, "--text", str(text),
                              "--work", str(work)], env=env)
            if result["stdout"].startswith("SKIP"):
                print(f"{name}: skipped ({result['stdout'].strip()})")
                continue
            if result["returncode"] != 0:
                print(f"{name} failed:\n{result['stderr'][-3000:]}")
            runs.append((name, result, _child_steps(result["stdout"])))
            shutil.rmtree(work, ignore_errors=True)
        build_dir = workdir / "build"
        shutil.rmtree(build_dir, ignore_errors=True)
        build_dir.mkdir()
        manifest = write_manifest(build_dir, text)
        result = measure([sys.executable, "-m", "hubpub", "build", str(manifest), "-q",
                          "--out", str(build_dir / "dist")], env=env)
        if result["returncode"] != 0:
            print(f"hubpub build failed:\n{result['stderr'][-3000:]}")
        runs.append(("hubpub build", result, _build_steps(build_dir / "dist", text_bytes)))
        shutil.rmtree(build_dir, ignore_errors=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    load = os.getloadavg()
    print(f"\n{args.rows:,} x {args.dim} embeddings, {text_bytes / 1e6:.0f} MB of text, "
          f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"`cat` reads the file in {floor:.2f} s ({text_bytes / 1e6 / floor:.0f} MB/s, the "
          "I/O floor)")
    print_table(text_bytes, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
