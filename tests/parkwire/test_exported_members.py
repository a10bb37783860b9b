"""parkwire's public surface: __all__ lists exactly what the package exports."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import parkwire


def test_all_matches_the_public_names() -> None:
    """Every public attribute is in __all__ and every name in __all__ exists."""
    public = {name for name in vars(parkwire) if not name.startswith("_")}
    submodules = {m.name for m in pkgutil.iter_modules(parkwire.__path__)}
    assert set(parkwire.__all__) == public - submodules
    assert len(parkwire.__all__) == len(set(parkwire.__all__))


def test_exported_objects_are_defined_in_parkwire() -> None:
    """Nothing is re-exported from a third-party package by accident."""
    for name in parkwire.__all__:
        obj = getattr(parkwire, name)
        module = inspect.getmodule(obj)
        if module is not None and (inspect.isclass(obj) or inspect.isfunction(obj)):
            assert module.__name__.startswith("parkwire."), name


def test_every_submodule_is_documented() -> None:
    """Each parkwire module explains itself in a docstring."""
    for info in pkgutil.iter_modules(parkwire.__path__):
        module = importlib.import_module(f"parkwire.{info.name}")
        assert module.__doc__, info.name


def test_package_ships_type_information() -> None:
    """Parkwire carries py.typed so users' type checkers read its annotations."""
    assert (Path(inspect.getfile(parkwire)).parent / "py.typed").is_file()
