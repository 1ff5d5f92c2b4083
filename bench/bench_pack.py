"""Benchmark: packing a module with `hubpub.files.package.pack` against `tar -czf` and tarfile+gzip.

Makes a module-shaped folder of about N MB (default 200) whose weights are random normal
float32 values, like an embedding matrix: they barely compress, which is where deflate speed
matters. Then packs it, in the same run, with:

  hubpub pack      pack(): ISA-L deflate, level 1, all cores (and one thread, for reference)
  tar -czf         GNU tar piped to gzip (level 6), members sorted, owner 0
  tarfile+gzip     Python's tarfile.open(..., "w:gz") (zlib, level 9 by default)

and prints wall and CPU time, MB/s of input, and the size of each tarball. Every tarball is listed
again with tarfile afterwards, so a broken archive cannot look fast.

    python bench/bench_pack.py [--mb N] [--dir FOLDER] [--keep]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hubpub.files.package import pack


def make_module(root: Path, megabytes: float) -> int:
    """Writes the folder; returns its total file bytes."""
    rng = np.random.default_rng(0)
    (root / "variables").mkdir(parents=True)
    (root / "assets").mkdir()
    (root / "tfhub_module.pb").write_bytes(b"\x08\x03")
    (root / "saved_model.pb").write_bytes(b"graph node op attr " * 20_000)
    (root / "assets" / "tokens.txt").write_text("".join(f"token{i}\n" for i in range(100_000)))
    rows = max(1, int(megabytes * 1024 * 1024 / (300 * 4)))
    with open(root / "variables" / "variables.data-00000-of-00001", "wb") as out:
        for start in range(0, rows, 10_000):  # in slices: never the whole matrix in memory
            n = min(10_000, rows - start)
            out.write((rng.standard_normal((n, 300)) * 0.1).astype(np.float32).tobytes())
    (root / "variables" / "variables.index").write_bytes(b"index" * 100)
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def with_gnu_tar(src: Path, out: Path) -> None:
    subprocess.run(["tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner",
                    "-czf", str(out), "-C", str(src), "."], check=True)


def with_tarfile(src: Path, out: Path) -> None:
    with tarfile.open(out, "w:gz") as tar:
        for path in sorted(src.iterdir()):
            tar.add(path, arcname=path.name)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # tar and gzip
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds (CPU above wall means several cores were busy)."""
    wall, cpu = time.perf_counter(), _cpu_seconds()
    run()
    return time.perf_counter() - wall, _cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=200.0, help="module size in MB (200)")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-pack-", dir=args.dir))
    try:
        src = work / "module"
        total = make_module(src, args.mb)
        cores = os.cpu_count() or 1
        runs: list[tuple[str, Callable[[Path], object]]] = [
            (f"hubpub pack ({min(cores, 8)} threads)", lambda out: pack(src, out)),
            ("hubpub pack (1 thread)", lambda out: pack(src, out, threads=1)),
            ("tar -czf (gzip -6)", lambda out: with_gnu_tar(src, out)),
            ("tarfile+gzip (zlib -9)", lambda out: with_tarfile(src, out)),
        ]
        print(f"module: {total / 1e6:.1f} MB of files ({cores} cores), in {work}")
        print(f"{'method':<26} {'wall s':>8} {'cpu s':>7} {'MB/s':>8} {'size MB':>9} "
              f"{'ratio':>7}")
        for i, (label, run) in enumerate(runs):
            out = work / f"out{i}.tar.gz"
            seconds, cpu = timed(lambda run=run, out=out: run(out))
            with tarfile.open(out) as tar:
                members = len(tar.getmembers())
            size = out.stat().st_size
            print(f"{label:<26} {seconds:>8.2f} {cpu:>7.2f} {total / 1e6 / seconds:>8.1f} "
                  f"{size / 1e6:>9.1f} {size / total:>7.3f}  ({members} members)")
            out.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
