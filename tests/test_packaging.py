"""Packaging and build contracts: what is installed, what imports what, what CI runs."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import smartpark
from smartpark import cli

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGES = ["parkwire", "simulator", "collector", "smartpark"]


def test_wheel_ships_exactly_the_four_packages() -> None:
    """The wheel lists every top-level package of the repository and nothing else."""
    listed = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "scripts"}
    assert sorted(listed) == sorted(PACKAGES) == sorted(on_disk)


def test_console_script_and_version() -> None:
    """`smartpark` runs smartpark.cli:main and reports the project's version."""
    assert PYPROJECT["project"]["scripts"] == {"smartpark": "smartpark.cli:main"}
    assert smartpark.__version__ == PYPROJECT["project"]["version"]


def test_every_command_module_registers() -> None:
    """Each module in COMMAND_MODULES adds at least one subcommand with a handler."""
    parser = cli.build_parser()
    actions = [a for a in parser._actions if a.dest == "command"]
    assert len(actions) == 1
    choices: dict[str, Any] = actions[0].choices  # type: ignore[assignment]
    assert {"demo", "simulate", "collect", "query"} <= set(choices)
    for name, sub in choices.items():
        assert sub.get_default("handler") is not None, name
        assert sub.description, f"`smartpark {name} --help` has no description"
        assert name in parser.format_help()


def _import_roots(package: str) -> set[str]:
    """Top-level modules imported anywhere in *package* (absolute imports)."""
    roots: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                roots.add(node.module.split(".")[0])
    return roots


def test_parkwire_depends_on_the_standard_library_orjson_and_msgspec_only() -> None:
    """The contract stays installable anywhere: stdlib plus two JSON libraries, nothing else."""
    roots = _import_roots("parkwire")
    assert roots - set(sys.stdlib_module_names) - {"parkwire"} == {"orjson", "msgspec"}
    assert not roots & {"socket", "asyncio", "ssl", "selectors", "subprocess", "threading"}


def test_import_contracts_are_declared() -> None:
    """pyproject.toml keeps the three import-linter contracts the architecture relies on."""
    contracts = {c["name"]: c for c in PYPROJECT["tool"]["importlinter"]["contracts"]}
    pure = contracts["The contract is I/O-free and depends on neither application"]
    assert pure["source_modules"] == ["parkwire"]
    assert {"simulator", "collector", "smartpark", "socket", "asyncio"} <= set(
        pure["forbidden_modules"])
    independent = contracts["The simulator and the collector never import each other"]
    assert (independent["type"], set(independent["modules"])) == (
        "independence", {"simulator", "collector"})
    root = contracts["Only the composition root imports both applications"]
    assert root["forbidden_modules"] == ["smartpark"]


@pytest.mark.parametrize(("package", "forbidden"),
                         [("simulator", "collector"), ("collector", "simulator")])
def test_applications_do_not_import_each_other(package: str, forbidden: str) -> None:
    """A direct scan agrees with import-linter: neither application imports the other."""
    assert forbidden not in _import_roots(package)
    assert "smartpark" not in _import_roots(package)


def test_make_test_runs_every_check() -> None:
    """`make test` runs ruff, mypy, import-linter and pytest with coverage, in that order."""
    make = shutil.which("make")
    if make is None:
        pytest.fail("make is not installed")
    result = subprocess.run([make, "-n", "--no-print-directory", "check"], capture_output=True,
                            text=True, cwd=ROOT, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith(".venv/bin/")]
    assert lines[-4:] == [
        ".venv/bin/ruff check .",
        ".venv/bin/mypy",
        ".venv/bin/lint-imports",
        ".venv/bin/python -m pytest --cov --cov-report=term-missing:skip-covered ",
    ]


def test_ci_runs_make_test() -> None:
    """.ci/run is strict bash that executes `make test` from the repository root."""
    script = (ROOT / ".ci" / "run").read_text()
    assert script.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in script
    assert "exec make test" in script
    assert (ROOT / ".ci" / "run").stat().st_mode & 0o111
