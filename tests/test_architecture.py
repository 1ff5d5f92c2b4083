"""The layers contract (pyproject.toml, [tool.importlinter]) holds, and it would catch a break.

import-linter comes with the test extras; CI installs them, so a missing tool fails here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixture_paths import REPO

LINT_IMPORTS = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    """lint-imports on the hubpub package under ``root``, with ``root``'s pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": str(root), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-c", LINT_IMPORTS, "--no-cache"], cwd=root,
                          env=env, capture_output=True, text=True, timeout=120)


def test_layers_point_one_way_and_nothing_imports_in_a_cycle():
    proc = _lint_imports(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 kept, 0 broken" in proc.stdout


@pytest.fixture
def copy_of_the_package(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "hubpub", tmp_path / "hubpub",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    return tmp_path


def _add_import(module: Path, line: str) -> None:
    module.write_text(module.read_text() + f"\n\ndef _added() -> None:\n    {line}\n")


def test_an_upward_import_breaks_the_contract(copy_of_the_package: Path):
    # Even a function-level import counts: errors is the bottom layer.
    _add_import(copy_of_the_package / "hubpub" / "errors.py", "from hubpub import cli  # noqa")
    proc = _lint_imports(copy_of_the_package)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "hubpub layers point one way BROKEN" in proc.stdout
    assert "hubpub.errors -> hubpub.cli" in proc.stdout


def test_a_cycle_inside_a_layer_breaks_the_contract(copy_of_the_package: Path):
    # module_spec imports files; files importing module_spec back is a cycle within spec/.
    _add_import(copy_of_the_package / "hubpub" / "spec" / "files.py",
                "from hubpub.spec import module_spec  # noqa")
    proc = _lint_imports(copy_of_the_package)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "no import cycles between the modules of a package BROKEN" in proc.stdout
    assert "hubpub.spec" in proc.stdout


def test_the_top_level_holds_few_modules_and_every_package_is_a_layer():
    """The tree says what the contract says: roles are folders, the top level stays short."""
    package = REPO / "hubpub"
    modules = sorted(p.name for p in package.glob("*.py"))
    assert len(modules) <= 8, modules
    layers = " ".join(_contract_layers())
    folders = sorted(p.name for p in package.iterdir() if (p / "__init__.py").is_file())
    for name in folders + [m.removesuffix(".py") for m in modules if m != "__init__.py"]:
        assert name in layers.replace(":", " ").replace("|", " ").split(), name


def _contract_layers() -> list[str]:
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    (layers,) = [c["layers"] for c in config["tool"]["importlinter"]["contracts"]
                 if c["id"] == "layers"]
    return layers


def test_the_old_convert_path_forwards_with_a_deprecation_warning():
    code = ("import warnings\n"
            "import hubpub\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    import hubpub.convert as old\n"
            "print([str(w.message) for w in caught if w.category is DeprecationWarning])\n"
            "print(old.tf2_metadata is hubpub.tf2_metadata)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    warned, same = proc.stdout.strip().splitlines()[-2:]
    assert "moved to hubpub.pipelines.convert" in warned, proc.stderr
    assert same == "True", proc.stderr
