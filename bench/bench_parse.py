"""Benchmark: parsing an embedding text file, hubpub's reader beside the candidates it beat.

Generates a W x D embedding text file (default 200,000 x 300, about 570 MB; --rows/--dim scale
it, --text takes an existing one), then runs each parser in a fresh process on the same file,
with `cat FILE > /dev/null` (the I/O floor) measured before and after them in the same run.
For each: wall time, MB/s of text, CPU seconds (user + system, all threads: on a
shared machine, MB per CPU second is the steadier figure), peak RSS above the process's RSS before parsing (the
float32 matrix alone is W x D x 4 bytes), and exactness: whether its values are bit-identical
to numpy.float32(float(field)) on the file's first 2,000 rows and on 40,000 awkward numbers
(long mantissas, far exponents, float32 midpoints where rounding twice differs from rounding
once; tests/recipes/test_embedding_lines.py).

  hubpub          read_embedding_file, threads = CPUs (and --threads 1): Arrow's CSV reader
                  on 2 MB chunks in parallel, float64 then float32, rows in file order
  loadtxt         NumPy's C parser on 1 MB chunks into a preallocated matrix (hubpub's
                  reader before issue 13)
  python float    line.split() and float() per field (the tensorflow_hub 0.15 exporter)
  arrow f64       pyarrow.csv.read_csv, whole file, float64 columns, all threads
  arrow f32       the same with float32 columns: one rounding, so not exact
  pandas          pandas.read_csv, C engine (only when pandas is installed)
  polars          polars.read_csv (only when polars is installed)

    python bench/bench_parse.py                  # 200,000 x 300
    python bench/bench_parse.py --rows 50000 --only hubpub loadtxt
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SAMPLE_ROWS = 2000
CANDIDATES = ["hubpub", "hubpub-1-thread", "loadtxt", "python-float", "arrow-f64", "arrow-f32",
              "pandas", "polars"]


# --- the candidates: path -> (tokens, float32 matrix) ----------------------------------------

def _hubpub(path: Path, threads: int | None = None) -> tuple[list[str], np.ndarray]:
    from hubpub.recipes.embedding_file import read_embedding_file

    embeddings = read_embedding_file(path, threads=threads)
    return embeddings.tokens, embeddings.matrix


def _loadtxt(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open("rb") as stream:
        rows = sum(block.count(b"\n") for block in iter(lambda: stream.read(1 << 20), b""))
    with path.open("rb") as stream:
        first = stream.readline()
        matrix = np.empty((rows + 1, len(first.split()) - 1), np.float32)
        stream.seek(0)
        tokens, done, carry = [], 0, b""
        while block := stream.read(1 << 20):
            data = carry + block
            cut = data.rfind(b"\n")
            lines, carry = data[:cut].split(b"\n"), data[cut + 1:]
            parts = [line.split(None, 1) for line in lines]
            tokens += [p[0].decode() for p in parts]
            values = np.loadtxt([p[1] for p in parts], dtype=np.float32, comments=None,
                                quotechar=None, ndmin=2)
            matrix[done:done + len(values)] = values
            done += len(values)
    return tokens, matrix[:done]


def _python_float(path: Path) -> tuple[list[str], np.ndarray]:
    tokens, rows = [], []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            fields = line.split()
            tokens.append(fields[0])
            rows.append([float(f) for f in fields[1:]])
    return tokens, np.array(rows).astype(np.float32)


def _arrow(path: Path, dtype: str) -> tuple[list[str], np.ndarray]:
    import pyarrow as pa
    from pyarrow import csv

    dim = len(path.open("rb").readline().split()) - 1
    names = [f"f{i}" for i in range(dim + 1)]
    types = dict.fromkeys(names[1:], getattr(pa, dtype)())
    types["f0"] = pa.string()
    table = csv.read_csv(path, csv.ReadOptions(column_names=names),
                         csv.ParseOptions(delimiter=" ", quote_char=False),
                         csv.ConvertOptions(column_types=types))
    tokens = table.column(0).to_pylist()
    matrix = np.empty((table.num_rows, dim), np.float32)
    for i in range(dim):
        matrix[:, i] = table.column(i + 1).to_numpy()
    return tokens, matrix


def _pandas(path: Path) -> tuple[list[str], np.ndarray]:
    import pandas as pd

    frame = pd.read_csv(path, sep=" ", header=None, quoting=3, engine="c", index_col=0,
                        keep_default_na=False, dtype={0: str})
    return list(frame.index), frame.to_numpy(np.float64).astype(np.float32)


def _polars(path: Path) -> tuple[list[str], np.ndarray]:
    import polars as pl

    options = {"separator": " ", "has_header": False, "quote_char": None}
    first = pl.read_csv(path, n_rows=1, **options).columns[0]  # column_0 or column_1
    frame = pl.read_csv(path, schema_overrides={first: pl.String}, **options)
    tokens = frame.get_column(first).to_list()
    return tokens, frame.drop(first).to_numpy().astype(np.float32)


def run_candidate(name: str, path: Path) -> tuple[list[str], np.ndarray]:
    if name == "hubpub":
        return _hubpub(path)
    if name == "hubpub-1-thread":
        return _hubpub(path, threads=1)
    if name == "loadtxt":
        return _loadtxt(path)
    if name == "python-float":
        return _python_float(path)
    if name in ("arrow-f64", "arrow-f32"):
        return _arrow(path, "float64" if name == "arrow-f64" else "float32")
    if name == "pandas":
        return _pandas(path)
    return _polars(path)


def _importable(name: str) -> bool:
    module = {"pandas": "pandas", "polars": "polars"}.get(name)
    if module is None:
        return True
    try:
        __import__(module)
    except ImportError:
        return False
    return True


# --- exactness --------------------------------------------------------------------------------

def _reference_rows(path: Path, rows: int) -> np.ndarray:
    out = []
    with path.open("rb") as lines:
        for _, line in zip(range(rows), lines, strict=False):
            out.append([float(f) for f in line.split()[1:]])
    return np.array(out).astype(np.float32)


def _awkward_file(folder: Path) -> tuple[Path, np.ndarray]:
    from tests.recipes.test_embedding_lines import DIM, as_chunk, awkward_numbers, reference

    with np.errstate(over="ignore"):
        fields = [f for f in awkward_numbers(40_000, seed=7)
                  if "_" not in f and np.isfinite(np.float32(float(f)))]
    fields = fields[:len(fields) // DIM * DIM]
    path = folder / "awkward.txt"
    path.write_bytes(as_chunk(fields))
    return path, reference(fields).reshape(-1, DIM)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool((a.view(np.uint32) == b.view(np.uint32)).all())


# --- one candidate in a child process ---------------------------------------------------------

def child(name: str, path: Path) -> None:
    import hubpub.recipes.embedding_lines  # noqa: F401  (imports are not parsing)

    if name.startswith(("hubpub", "arrow")):
        import pyarrow.csv  # noqa: F401
    before = _rss_mb()
    start, cpu = time.perf_counter(), _cpu_seconds()
    tokens, matrix = run_candidate(name, path)
    seconds = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sample = _same_bits(matrix[:SAMPLE_ROWS], _reference_rows(path, SAMPLE_ROWS))
    shape = list(matrix.shape)
    del tokens, matrix
    with tempfile.TemporaryDirectory() as folder:
        awkward, expected = _awkward_file(Path(folder))
        awkward_exact = _same_bits(run_candidate(name, awkward)[1], expected)
    print("BENCH " + json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak, "before_mb": before,
                                 "shape": shape, "sample_exact": sample,
                                 "awkward_exact": awkward_exact}))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cat_floor(path: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--text", type=Path, help="an existing embedding file (kept)")
    parser.add_argument("--only", nargs="+", choices=CANDIDATES, default=CANDIDATES)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each candidate (best kept)")
    parser.add_argument("--child", choices=CANDIDATES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.text)
        return 0

    folder = Path(tempfile.mkdtemp(prefix="hubpub-bench-parse-"))
    text = args.text
    try:
        if text is None:
            sys.path.insert(0, str(REPO / "bench"))
            from bench_build import generate

            text = folder / f"embeddings-{args.rows}x{args.dim}.txt"
            generate(text, args.rows, args.dim)
        size = text.stat().st_size
        floors = [cat_floor(text)]
        results = []
        for name in args.only:
            if not _importable(name):
                print(f"{name}: skipped (not installed)")
                continue
            best = None
            for _ in range(args.repeat):
                done = subprocess.run([sys.executable, __file__, "--child", name, "--text",
                                       str(text)], capture_output=True, text=True,
                                      env={**os.environ, "PYTHONPATH": str(REPO)})
                lines = [x for x in done.stdout.splitlines() if x.startswith("BENCH ")]
                if done.returncode or not lines:
                    print(f"{name}: failed\n{done.stderr[-2000:]}")
                    break
                result = json.loads(lines[0][6:])
                if best is None or result["seconds"] < best["seconds"]:
                    best = result
            if best is not None:
                results.append((name, best))
        floors.append(cat_floor(text))
    finally:
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()
    load = os.getloadavg()
    matrix_mb = results[0][1]["shape"][0] * results[0][1]["shape"][1] * 4 / 1e6 if results else 0
    out = io.StringIO()
    out.write(f"\n{text.name}: {size / 1e6:.0f} MB, {os.cpu_count()} CPUs, load average "
              f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; float32 matrix {matrix_mb:.0f} MB\n")
    out.write(f"{'parser':16} {'seconds':>8} {'MB/s':>8} {'CPU s':>8} {'MB/CPU s':>8} "
              f"{'RSS +MB':>8} "
              f"{'exact (file)':>13} {'exact (awkward)':>16}\n")
    for seconds in floors:
        out.write(f"{'cat > /dev/null':16} {seconds:8.2f} {size / 1e6 / seconds:8.0f}\n")
    for name, r in results:
        out.write(f"{name:16} {r['seconds']:8.2f} {size / 1e6 / r['seconds']:8.0f} "
                  f"{r['cpu']:8.2f} {size / 1e6 / r['cpu']:8.0f} {r['peak_mb'] - r['before_mb']:8.0f} {str(r['sample_exact']):>13} "
                  f"{str(r['awkward_exact']):>16}\n")
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
