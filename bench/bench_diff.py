"""`hubpub diff` on two modules with large variables, beside a bare `import tensorflow`.

Target (issue 12): two modules with 1 GiB of variables each diff in well under the time of
`import tensorflow`; diff reads protos and checkpoint indexes, never the variables' values
(their CRC32C in the index says whether they changed), and streams digests.

    python bench/bench_diff.py [--mib 1024] [--repeat 3] [--keep DIR]

Builds OLD (random weights), NEW (one variable with other values) and SAME (OLD built again)
with hubpub, packs OLD, then times fresh processes (`python -m hubpub diff ... --format json`,
best of --repeat):

- OLD dir vs NEW dir: weights differ, known from the indexes alone;
- OLD dir vs SAME dir: identical, so every byte is compared (the worst case);
- OLD .tar.gz vs SAME dir: the tarball is decompressed and hashed as it streams;

and `python -c "import tensorflow"` in the same run. Modules go to a temporary folder (or
--keep DIR), never into the repository.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VARIABLES = 4  # the weights are split over this many variables


def module_fn(rows: int, seed: int, changed_seed: int) -> None:
    import hubpub as hub
    from hubpub._tf import tf

    v1 = tf.compat.v1
    x = v1.placeholder(tf.float32, [None, 256], name="x")
    outputs = []
    for i in range(VARIABLES):
        init = v1.random_normal_initializer(seed=changed_seed if i == 0 else seed + i)
        w = v1.get_variable(f"layer{i}/kernel", [rows, 256], initializer=init)
        outputs.append(tf.matmul(x, w[:256]))
    hub.add_signature(inputs=x, outputs=tf.add_n(outputs))


def make_module(target: Path, mib: int, changed_seed: int) -> None:
    """Export a module holding ``mib`` MiB of float32 variables."""
    import hubpub as hub

    rows = mib * 1024 * 1024 // 4 // 256 // VARIABLES
    fn = functools.partial(module_fn, rows=rows, seed=1, changed_seed=changed_seed)
    hub.create_module_spec(fn, random_seed=0).export(str(target), checkpoint_path=None)


def best_time(argv: list[str], repeat: int) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode not in (0, 1):
            sys.exit(f"{' '.join(argv)} failed:\n{done.stderr}")
        if elapsed < best:
            best, out = elapsed, done.stdout
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="variables per module, in MiB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the modules here and keep them")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="hubpub-bench-diff-"))
    try:
        modules = {"old": 10, "new": 11, "same": 10}
        for name, seed in modules.items():
            if not (root / name).is_dir():
                print(f"building {name} ({args.mib} MiB of variables)...", flush=True)
                make_module(root / name, args.mib, seed)
        tarball = root / "old.tar.gz"
        if not tarball.is_file():
            from hubpub.files.package import pack

            print("packing old...", flush=True)
            pack(root / "old", tarball)
        data = sum(p.stat().st_size for p in (root / "old" / "variables").iterdir())
        print(f"\nvariables per module: {data / 2**20:,.0f} MiB; best of {args.repeat}, "
              f"each a fresh process\n")
        cases = [("dir vs dir, weights differ", root / "old", root / "new"),
                 ("dir vs dir, identical (every byte compared)", root / "old", root / "same"),
                 (".tar.gz vs dir, identical (streamed, hashed)", tarball, root / "same")]
        tf_time, _ = best_time([sys.executable, "-c", "import tensorflow"], args.repeat)
        label = 'python -c "import tensorflow"'
        print(f"{label:48s} {tf_time:6.2f} s")
        for label, old, new in cases:
            elapsed, out = best_time([sys.executable, "-m", "hubpub", "diff", str(old),
                                      str(new), "--format", "json"], args.repeat)
            verdict = json.loads(out)["verdict"]
            print(f"{'hubpub diff: ' + label:48s} {elapsed:6.2f} s  "
                  f"({elapsed / tf_time:.2f} x import tensorflow; {verdict})")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
