"""Lint time against graph size, beside a bare `import tensorflow`, in one run.

Target (issue: checks): `hubpub lint DIR` of a module whose graph has 20,000 nodes takes,
TensorFlow's import included, under 1.5x a bare `import tensorflow` on the same machine, and
the part beyond the import grows linearly with the graph.

    python bench/bench_lint.py [--nodes 2000 5000 10000 20000] [--repeat 3]

Each measurement is a fresh process (`python -m hubpub lint DIR --format json`); the best
of --repeat runs is printed. `rules s` is hubpub's own part (reading the protos, indexing and
every rule) timed inside a process that has already imported TensorFlow.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[2000, 5000, 10000, 20000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base = best_time([sys.executable, "-c", "import tensorflow"], args.repeat)
    print(f"bare `import tensorflow`: {base:.2f} s (best of {args.repeat})")
    print(f"{'nodes':>8} {'lint s':>8} {'x import':>9} {'rules s':>8} {'us/node':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for wanted in args.nodes:
            target = Path(tmp) / f"m{wanted}"
            nodes = make_module(target, wanted)
            lint = best_time([sys.executable, "-m", "hubpub", "lint", str(target),
                              "--format", "json"], args.repeat)
            own = lint_part(target, args.repeat)
            print(f"{nodes:>8} {lint:>8.2f} {lint / base:>9.2f} {own:>8.3f} "
                  f"{own / nodes * 1e6:>8.1f}")


if __name__ == "__main__":
    main()
