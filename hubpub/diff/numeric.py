"""``hubpub diff --numeric``: run both modules on the same inputs, report the largest difference.

For each variant and signature the two modules share, inputs are made once from OLD's
declared dtypes and shapes (as the smoke test makes them) and fed to both; each shared output
is compared, and the largest absolute difference per signature is reported. Running a module
executes it, so this goes the smoke test's way: modules with ops hubpub does not run are
refused (HUB301/HUB302), and the run happens in a confined child process
(``hubpub.execution.sandbox``).
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hubpub.diff.compare import Change
from hubpub.diff.side import Side
from hubpub.errors import CheckFailure
from hubpub.execution.publisher import TIMEOUT_SECONDS

__all__ = ["numeric_changes"]


@contextlib.contextmanager
def _directory(side: Side) -> Iterator[Path]:
    if side.directory is not None:
        yield side.directory
        return
    from hubpub.target import module_directory

    with module_directory(side.shown) as folder:  # a tarball, unpacked
        yield folder


def _refuse_unsafe(folder: Path, shown: str) -> None:
    from hubpub.checks.config import LintConfig
    from hubpub.checks.engine import execution_blockers, refusal
    from hubpub.target import load_view

    blockers = execution_blockers(load_view(str(folder)), LintConfig())
    if blockers:
        raise CheckFailure(f"{shown}: " + refusal(blockers, "--numeric"), findings=blockers)


def numeric_changes(old: Side, new: Side, *, timeout: float = TIMEOUT_SECONDS) -> list[Change]:
    """One ``numeric`` change per shared signature: the largest output difference found.

    Raises:
        CheckFailure: a module has ops hubpub does not run, or the run failed (exit 1).
    """
    with _directory(old) as before, _directory(new) as after:
        _refuse_unsafe(before, old.shown)
        _refuse_unsafe(after, new.shown)
        rows = _run_child(before, after, timeout)
    return [_change(row) for row in rows]


def _run_child(before: Path, after: Path, timeout: float) -> list[dict[str, Any]]:
    from hubpub.execution.process_exit import missing_result, run_child
    from hubpub.execution.sandbox import child_env
    from hubpub.files.outdir import private_temp_folder

    with private_temp_folder("hubpub-numeric-") as folder:
        done = run_child([sys.executable, "-m", "hubpub.diff.numeric", str(before.resolve()),
                          str(after.resolve())], what="--numeric", timeout=timeout,
                         cwd=folder, env=child_env(folder, readable=[before, after]))
    try:  # a child that ends without its result (or not with 0) failed, whatever it says
        rows = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
        if isinstance(rows, list):
            return rows
    except (ValueError, IndexError):
        pass
    raise CheckFailure("--numeric: " + missing_result("the process running the modules",
                                                      done.returncode, done.stderr))


def _change(row: dict[str, Any]) -> Change:
    label = "{" + ",".join(row["variant"]) + "}"
    path = f"{label}/signatures/{row['signature']}"
    if row.get("error"):
        return Change("numeric", path, None, None, False,
                      f"signature '{row['signature']}' in variant {label} could not be run on "
                      f"both: {row['error']}")
    largest, output = row["max_abs_diff"], row["output"]
    if not math.isfinite(largest):
        return Change("numeric", path, None, None, False,
                      f"output '{output}' differs in shape or in non-numeric values on the "
                      f"same inputs")
    where = f" (output '{output}')" if output else ""
    return Change("numeric", path, None, largest, False,
                  f"largest output difference {largest:.6g}{where} on the same inputs")


# --- what runs in the child process ----------------------------------------------------------


def _compare_outputs(a: dict[str, Any], b: dict[str, Any]) -> tuple[float, str | None]:
    """The largest absolute difference over the outputs both have with the same shape."""
    import numpy as np

    largest, worst = 0.0, None
    for key in sorted(a.keys() & b.keys()):
        x, y = np.asarray(a[key]), np.asarray(b[key])
        if x.shape != y.shape:
            return float("inf"), key
        if x.dtype.kind in "fiub" and y.dtype.kind in "fiub":
            diff = float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)),
                                initial=0.0))
        else:
            diff = 0.0 if np.array_equal(x, y) else float("inf")
        if diff > largest or worst is None:
            largest, worst = diff, key
    return largest, worst


def _rows(before: str, after: str) -> list[dict[str, Any]]:
    from hubpub.execution.smoke import signature_inputs, signature_outputs
    from hubpub.spec.loading import load_module_spec
    from hubpub.spec.requirements import import_requirements, recorded_requirements

    old, new = load_module_spec(before), load_module_spec(after)
    # Known op libraries the modules record (a missing one fails the rows, naming it).
    with contextlib.suppress(Exception):
        import_requirements(recorded_requirements([*old.saved_model.meta_graphs,
                                                   *new.saved_model.meta_graphs]),
                            only_known=True)
    rows = []
    shared = {frozenset(t) for t in old.get_tags()} & {frozenset(t) for t in new.get_tags()}
    for tags in sorted(shared, key=sorted):
        makers = signature_inputs(old, tags)
        for name in sorted(set(makers) & set(new.get_signature_names(tags))):
            row: dict[str, Any] = {"variant": sorted(tags), "signature": name}
            try:
                a = signature_outputs(before, tags, {name: makers[name]})[name]
                b = signature_outputs(after, tags, {name: makers[name]})[name]
            except Exception as exc:  # a breaking change already says why; report, go on
                row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            else:
                row["max_abs_diff"], row["output"] = _compare_outputs(a, b)
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    from hubpub.execution.process_exit import die_with_parent
    from hubpub.execution.sandbox import confine_from_env

    die_with_parent()
    confine_from_env()  # first, while this process has one thread
    before, after = sys.argv[1:] if argv is None else argv
    print(json.dumps(_rows(before, after)))
    return 0


if __name__ == "__main__":
    from hubpub.execution.process_exit import exit_process

    exit_process(main())
