"""Effluent standards as data: load a regulation's TOML file and compute the effective limits.

A standard file (``qcvn40_2011.toml`` ships with the simulator; domain.md §4.1) lists, per
parameter, the base value ``C`` of each column, whether it is a maximum or a range, and whether
the flow factors apply. The permitted value at the outfall is ``Cmax = C x Kq x Kf`` ([W1][W13]);
parameters marked ``kq_kf = false`` (pH, temperature, coliform) keep ``C``. Kq comes from the
receiving river's flow and Kf from the discharge flow, each looked up in the file's band tables,
or is given explicitly (the reference park's demo uses Kq = Kf = 1, domain.md §0).

Nothing here is hard-coded: a new regulation (QCVN 40:2025, whose table is not yet verified) is a
new file in the same format. Every malformed entry raises :class:`StandardError` naming the file
and the key path.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt

#: The standards that ship with the simulator (file stem -> description).
BUILTIN = MappingProxyType({"qcvn40_2011": "QCVN 40:2011/BTNMT, columns A and B"})

_KINDS = ("max", "range")


class StandardError(ValueError):
    """A standard file is missing, unreadable or malformed; the message names file and key."""


@dataclass(frozen=True, slots=True)
class Band:
    """One row of a flow-factor table: the factor applies to flows up to ``upto`` (inclusive).

    Attributes:
        upto: upper flow bound of the band; ``inf`` for the last band.
        factor: Kq or Kf of the band [1].
    """

    upto: float
    factor: float


@dataclass(frozen=True, slots=True)
class Limit:
    """The permitted band of one parameter at the outfall.

    Attributes:
        parameter: key of the parameter (a parkwire field name such as ``cod_mgl``).
        unit: UCUM-style unit.
        low: lowest permitted value, ``-inf`` when only a maximum applies.
        high: highest permitted value.
        verified: False when the base value is [V] (recalled, not re-read in the regulation).
    """

    parameter: str
    unit: str
    low: float
    high: float
    verified: bool

    def complies(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Return, per value, whether it lies inside the permitted band (bounds included)."""
        return (values >= self.low) & (values <= self.high)


@dataclass(frozen=True, slots=True)
class Parameter:
    """One regulated parameter as the file states it.

    Attributes:
        key: parameter key (parkwire field name).
        name: human-readable name.
        unit: UCUM-style unit.
        kind: ``max`` or ``range``.
        base: column -> (low, high) base values ``C`` (low is ``-inf`` for a maximum).
        kq_kf: whether Kq and Kf multiply the base value.
        verified_columns: columns whose values are cited (the others are [V]).
        source: domain.md source id.
    """

    key: str
    name: str
    unit: str
    kind: str
    base: Mapping[str, tuple[float, float]]
    kq_kf: bool
    verified_columns: frozenset[str]
    source: str


@dataclass(frozen=True, slots=True)
class EffluentStandard:
    """A loaded regulation: its parameters per column and its Kq/Kf band tables.

    Attributes:
        id: the standard's id (``qcvn40_2011``).
        title: its full title.
        columns: the columns it defines (``A``, ``B``).
        parameters: key -> parameter, in file order.
        kq_bands: Kq by receiving river flow [m3/s].
        kf_bands: Kf by discharge flow [m3/day].
        factors_verified: False when the Kq/Kf tables are [V].
    """

    id: str
    title: str
    columns: tuple[str, ...]
    parameters: Mapping[str, Parameter]
    kq_bands: tuple[Band, ...]
    kf_bands: tuple[Band, ...]
    factors_verified: bool

    def kq(self, receiving_flow_m3s: float) -> float:
        """Return Kq for a receiving river carrying *receiving_flow_m3s* [m3/s]."""
        return _lookup(self.kq_bands, receiving_flow_m3s, "receiving_flow_m3s")

    def kf(self, discharge_m3d: float) -> float:
        """Return Kf for a plant discharging *discharge_m3d* [m3/day]."""
        return _lookup(self.kf_bands, discharge_m3d, "discharge_m3d")

    def limits(self, column: str, *, kq: float = 1.0, kf: float = 1.0) -> dict[str, Limit]:
        """Return every parameter's permitted band for *column* with explicit factors.

        Raises:
            StandardError: unknown column, or a factor that is not a positive number.
        """
        if column not in self.columns:
            msg = f"standard {self.id}: unknown column {column!r}; known: {', '.join(self.columns)}"
            raise StandardError(msg)
        for label, value in (("kq", kq), ("kf", kf)):
            if not (math.isfinite(value) and value > 0.0):
                msg = f"standard {self.id}: {label} must be a positive number, got {value!r}"
                raise StandardError(msg)
        result: dict[str, Limit] = {}
        for key, parameter in self.parameters.items():
            low, high = parameter.base[column]
            scale = kq * kf if parameter.kq_kf else 1.0
            # Only a maximum scales; a range (pH) never takes the factors (kq_kf = false).
            result[key] = Limit(key, parameter.unit, low, high * scale,
                                column in parameter.verified_columns)
        return result

    def effective_limits(self, column: str, *, receiving_flow_m3s: float | None = None,
                         discharge_m3d: float | None = None) -> dict[str, Limit]:
        """Return the limits for *column* with Kq and Kf looked up from the flows.

        A flow given as ``None`` leaves its factor at 1 (the reference park's demo setting).
        """
        kq = 1.0 if receiving_flow_m3s is None else self.kq(receiving_flow_m3s)
        kf = 1.0 if discharge_m3d is None else self.kf(discharge_m3d)
        return self.limits(column, kq=kq, kf=kf)


def _lookup(bands: tuple[Band, ...], flow: float, label: str) -> float:
    if not (math.isfinite(flow) and flow >= 0.0):
        msg = f"{label} must be a finite flow >= 0, got {flow!r}"
        raise StandardError(msg)
    for band in bands:
        if flow <= band.upto:
            return band.factor
    return bands[-1].factor  # unreachable: the last band is open-ended (checked on load)


def builtin_path(name: str) -> Path:
    """Return the path of a built-in standard file by its id (``qcvn40_2011``).

    Raises:
        StandardError: no such built-in standard.
    """
    if name not in BUILTIN:
        msg = f"unknown effluent standard {name!r}; built in: {', '.join(BUILTIN)}"
        raise StandardError(msg)
    return Path(str(resources.files("simulator") / "standards" / f"{name}.toml"))


def load_standard(source: str | Path = "qcvn40_2011") -> EffluentStandard:
    """Load and validate a standard: a built-in id (``qcvn40_2011``) or a path to a TOML file.

    Raises:
        StandardError: the file cannot be read or parsed, or an entry is malformed (the message
            names the file and the key path, and says what was expected).
    """
    path = Path(source) if isinstance(source, Path) or str(source).endswith(".toml") \
        else builtin_path(str(source))
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        msg = f"{path}: cannot read the standard file ({exc.strerror or exc})"
        raise StandardError(msg) from exc
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: not valid TOML ({exc})"
        raise StandardError(msg) from exc
    return _parse(data, _Where(path.name))


@dataclass(frozen=True, slots=True)
class _Where:
    """Builds error messages that name the file and the key path."""

    file: str

    def reject(self, key: str, expected: str, got: object) -> NoReturn:
        """Raise a :class:`StandardError` for the entry at *key*."""
        msg = f"{self.file}: {key}: expected {expected}, got {got!r}"
        raise StandardError(msg)


def _table(data: Mapping[str, Any], key: str, where: _Where, path: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        where.reject(f"{path}{key}", "a table", value)
    return value


def _text(data: Mapping[str, Any], key: str, where: _Where, path: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        where.reject(f"{path}{key}", "a non-empty string", value)
    return value


def _number(value: object, where: _Where, path: str, *, positive: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) \
        and math.isfinite(float(value)) and (float(value) > 0.0 if positive else True)
    if not ok:
        where.reject(path, "a positive number" if positive else "a number",
                                       value)
    return float(value)  # type: ignore[arg-type]


def _parse(data: Mapping[str, Any], where: _Where) -> EffluentStandard:
    head = _table(data, "standard", where, "")
    ident = _text(head, "id", where, "standard.")
    title = _text(head, "title", where, "standard.")
    columns = head.get("columns")
    if not (isinstance(columns, list) and columns
            and all(isinstance(c, str) and c for c in columns)):
        where.reject("standard.columns", "a non-empty list of column names", columns)
    column_names = tuple(str(c) for c in columns)
    table = _table(data, "parameters", where, "")
    if not table:
        where.reject("parameters", "at least one parameter", table)
    parameters = {key: _parameter(key, value, column_names, where)
                  for key, value in table.items()}
    kq = _table(data, "kq", where, "")
    kf = _table(data, "kf", where, "")
    return EffluentStandard(
        id=ident, title=title, columns=column_names,
        parameters=MappingProxyType(parameters),
        kq_bands=_bands(kq.get("river"), where, "kq.river"),
        kf_bands=_bands(kf.get("bands"), where, "kf.bands"),
        factors_verified=bool(kq.get("verified", True)) and bool(kf.get("verified", True)),
    )


def _parameter(key: str, entry: object, columns: tuple[str, ...], where: _Where) -> Parameter:
    path = f"parameters.{key}"
    if not isinstance(entry, dict):
        where.reject(path, "a table", entry)
    kind = entry.get("kind")
    if kind not in _KINDS:
        where.reject(f"{path}.kind", f"one of {', '.join(_KINDS)}", kind)
    base: dict[str, tuple[float, float]] = {}
    for column in columns:
        value = entry.get(column)
        at = f"{path}.{column}"
        if kind == "max":
            base[column] = (-math.inf, _number(value, where, at, positive=True))
        else:
            if not (isinstance(value, list) and len(value) == 2):
                where.reject(at, "a [low, high] pair", value)
            low = _number(value[0], where, f"{at}[0]")
            high = _number(value[1], where, f"{at}[1]")
            if not low < high:
                where.reject(at, "low < high", value)
            base[column] = (low, high)
    kq_kf = entry.get("kq_kf")
    if not isinstance(kq_kf, bool):
        where.reject(f"{path}.kq_kf", "true or false", kq_kf)
    if kind == "range" and kq_kf:
        where.reject(f"{path}.kq_kf", "false for a range parameter (factors scale a "
                          "maximum only)", kq_kf)
    verified = entry.get("verified_columns", list(columns))
    if not (isinstance(verified, list) and set(verified) <= set(columns)):
        where.reject(f"{path}.verified_columns", f"a list drawn from {list(columns)}",
                          verified)
    return Parameter(
        key=key, name=_text(entry, "name", where, f"{path}."),
        unit=_text(entry, "unit", where, f"{path}."), kind=str(kind),
        base=MappingProxyType(base), kq_kf=bool(kq_kf),
        verified_columns=frozenset(str(c) for c in verified),
        source=_text(entry, "source", where, f"{path}."),
    )


def _bands(rows: object, where: _Where, path: str) -> tuple[Band, ...]:
    if not (isinstance(rows, list) and rows):
        where.reject(path, "a non-empty list of {upto, factor} bands", rows)
    bands: list[Band] = []
    for index, row in enumerate(rows):
        at = f"{path}[{index}]"
        if not isinstance(row, dict):
            where.reject(at, "a table {upto, factor}", row)
        last = index == len(rows) - 1
        if last and "upto" in row:
            where.reject(f"{at}.upto", "no bound on the last (open-ended) band",
                              row["upto"])
        upto = math.inf if last else _number(row.get("upto"), where, f"{at}.upto",
                                               positive=True)
        if bands and not upto > bands[-1].upto:
            where.reject(f"{at}.upto", f"a bound above {bands[-1].upto}", upto)
        bands.append(Band(upto, _number(row.get("factor"), where, f"{at}.factor",
                                        positive=True)))
    return tuple(bands)
