"""Lint and docs times, beside a bare `import tensorflow` measured in the same run.

Targets (issue 21): on a module of 20,000 graph nodes, `hubpub lint DIR`, `hubpub lint
TARBALL` and `hubpub docs DIR` take at most 0.25x a bare `python -c "import tensorflow"` (they
never import it); re-linting an unchanged manifest (the bundled text-embedding example and a
`hubpub init` project) takes at most 0.25x (answered from the lint cache); a first lint of a
manifest (empty cache) is no slower than one that does not use the cache (`--no-cache`, what
every lint did before).

    python bench/bench_lint.py [--nodes 2000 5000 10000 20000] [--repeat 3]

Each measurement is a fresh process; the best of --repeat runs is printed. `rules s` is
hubpub's own part (reading the protos, indexing and every rule) timed inside a process.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "text-embedding"


def make_module(target: Path, nodes: int) -> int:
    """Export a module of stacked dense layers with about ``nodes`` graph nodes."""
    import hubpub as hub
    from hubpub._tf import tf

    def module_fn(layers: int) -> None:
        x = tf.compat.v1.placeholder(tf.float32, [None, 8], name="x")
        h = x
        for i in range(layers):
            h = tf.compat.v1.layers.dense(h, 8, activation=tf.nn.relu, name=f"layer{i}",
                                          kernel_regularizer=lambda w: 1e-4 * tf.nn.l2_loss(w))
        hub.add_signature(inputs=x, outputs=h)

    per_layer = 30  # measured: nodes per dense layer with initializer and regularizer
    spec = hub.create_module_spec(module_fn, [(set(), {"layers": max(1, nodes // per_layer)})])
    spec.export(str(target), checkpoint_path=None)
    return len(spec.saved_model.meta_graphs[0].graph_def.node)


def best_time(argv: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        best = min(best, time.perf_counter() - start)
    return best


_IN_PROCESS = """
import sys, time
import hubpub._tf
from hubpub.checks.config import LintConfig
from hubpub.commands.lint import lint_target
start = time.perf_counter()
lint_target(sys.argv[1], LintConfig())
print(time.perf_counter() - start)
"""


def lint_part(target: Path, repeat: int) -> float:
    """hubpub's own part of a lint (read protos, index, every rule), TensorFlow already loaded."""
    runs = [float(subprocess.run([sys.executable, "-c", _IN_PROCESS, str(target)], text=True,
                                 capture_output=True, check=True).stdout.strip().splitlines()[-1])
            for _ in range(repeat)]
    return min(runs)


def _hubpub(*argv: str) -> list[str]:
    return [sys.executable, "-m", "hubpub", *argv]


def cold_cache_time(argv: list[str], repeat: int, root: Path) -> float:
    """Best time of ``argv`` with an empty lint cache each run (a first lint)."""
    best = float("inf")
    for run in range(repeat):
        os.environ["HUBPUB_CACHE_DIR"] = str(root / f"cold{run}")
        best = min(best, best_time(argv, 1))
    return best


def manifest_rows(name: str, manifest: Path, repeat: int, root: Path) -> list[tuple[str, float]]:
    lint = _hubpub("lint", str(manifest), "--format", "json")
    first = cold_cache_time(lint, repeat, root / name)
    uncached = best_time([*lint, "--no-cache"], repeat)
    os.environ["HUBPUB_CACHE_DIR"] = str(root / name / "warm")
    best_time(lint, 1)  # fills the cache
    again = best_time(lint, repeat)
    return [(f"{name}: first lint (empty cache)", first),
            (f"{name}: lint --no-cache (as before the cache)", uncached),
            (f"{name}: re-lint, unchanged (from the cache)", again)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[2000, 5000, 10000, 20000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    # As an installed package: Python writes and reuses bytecode (a checkout run with
    # PYTHONDONTWRITEBYTECODE=1 would compile hubpub's sources in every process).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    base = best_time([sys.executable, "-c", "import tensorflow"], args.repeat)
    print(f"bare `import tensorflow`: {base:.2f} s (best of {args.repeat})")
    print(f"{'nodes':>8} {'lint s':>8} {'x import':>9} {'rules s':>8} {'us/node':>8}")
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["HUBPUB_CACHE_DIR"] = str(root / "unused")
        target = root / "m"
        for wanted in args.nodes:
            target = root / f"m{wanted}"
            nodes = make_module(target, wanted)
            lint = best_time(_hubpub("lint", str(target), "--format", "json"), args.repeat)
            own = lint_part(target, args.repeat)
            print(f"{nodes:>8} {lint:>8.2f} {lint / base:>9.2f} {own:>8.3f} "
                  f"{own / nodes * 1e6:>8.1f}")
        tarball = root / "m.tar.gz"
        with tarfile.open(tarball, "w:gz") as tar:
            for child in sorted(target.iterdir()):
                tar.add(child, arcname=child.name)
        rows.append((f"lint {target.name}.tar.gz",
                     best_time(_hubpub("lint", str(tarball), "--format", "json"), args.repeat)))
        rows.append((f"docs {target.name}/",
                     best_time(_hubpub("docs", str(target), "--out", str(root / "page.md")),
                               args.repeat)))
        example = root / "text-embedding"
        shutil.copytree(EXAMPLE, example)
        rows += manifest_rows("example text-embedding", example / "hubpub.yaml", args.repeat,
                              root)
        subprocess.run(_hubpub("init", str(root / "init")), check=True, capture_output=True)
        rows += manifest_rows("`hubpub init` project", root / "init" / "hubpub.yaml",
                              args.repeat, root)
    again = best_time([sys.executable, "-c", "import tensorflow"], args.repeat)
    print(f"bare `import tensorflow` again: {again:.2f} s; ratios below use the smaller")
    base = min(base, again)
    width = max(len(label) for label, _ in rows)
    for label, seconds in rows:
        print(f"{label:<{width}} {seconds:>6.2f} s {seconds / base:>6.2f}x")


if __name__ == "__main__":
    main()
