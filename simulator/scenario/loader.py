"""Read a scenario TOML file, validate every key, and build a :class:`Scenario`.

Validation collects *all* problems before failing, each written as
``file: path.to.key: what was wrong; what was expected``, so a person can fix a file in one
pass. Unknown keys are errors: a typo must never fall back silently to a default.
"""

from __future__ import annotations

import math
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from parkwire import is_slug
from simulator.scenario.archetypes import ARCHETYPES, SHIFT_PATTERNS
from simulator.scenario.model import (
    Common,
    Energy,
    Feeder,
    Park,
    Scenario,
    Security,
    Site,
    Solar,
    Substation,
    Tenant,
    Water,
    Zone,
)

#: Time-of-use profiles the energy model knows.
TOU_PROFILES = ("evn_2014", "proposed_2026")
#: Largest tenant peak accepted [kW]; keeps every reading inside parkwire's meter ranges.
MAX_TENANT_PEAK_KW = 15_000.0
#: Largest park total accepted [kW]; keeps the incomer inside the mv_meter ranges.
MAX_PARK_PEAK_KW = 150_000.0


class ScenarioError(ValueError):
    """A scenario file cannot be used; ``errors`` lists every problem found.

    Attributes:
        errors: one line per problem, ``file: key.path: message``.
    """

    def __init__(self, errors: list[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(errors))


def builtin_scenarios() -> dict[str, Path]:
    """Return the scenarios shipped with smartpark, by name (file stem)."""
    folder = resources.files("simulator") / "scenarios"
    found: dict[str, Path] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            found[entry.name.removesuffix(".toml")] = Path(str(entry))
    return dict(sorted(found.items()))


def resolve(path_or_name: str | Path) -> Path:
    """Return the file for a built-in scenario name or a path, raising ScenarioError."""
    builtin = builtin_scenarios()
    if isinstance(path_or_name, str) and path_or_name in builtin:
        return builtin[path_or_name]
    path = Path(path_or_name)
    if not path.is_file():
        msg = (f"{path_or_name}: no such scenario file, and not a built-in scenario; "
               f"built-in: {', '.join(builtin)}")
        raise ScenarioError([msg])
    return path


def load_scenario(path_or_name: str | Path) -> Scenario:
    """Load and validate a scenario from a file path or a built-in name (``refpark``).

    Raises:
        ScenarioError: the file is missing, is not TOML, or breaks a rule; lists every error.
    """
    path = resolve(path_or_name)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"{path.name}: not valid TOML: {exc}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{path.name}: cannot read the file: {exc}"]) from None
    return parse_scenario(data, path)


def parse_scenario(data: Mapping[str, Any], source: Path) -> Scenario:
    """Validate already-parsed TOML *data* and build the scenario (*source* names errors)."""
    check = _Checker(source.name)
    root = check.table(data, "", required=("park", "site", "energy", "zones", "tenants"),
                       optional=("common", "solar", "water", "security"))
    park = _park(check, root.get("park"))
    site = _site(check, root.get("site"))
    energy = _energy(check, root.get("energy"))
    feeder_ids = {f.id for f in energy.feeders} if energy else set()
    zones = _zones(check, root.get("zones"), feeder_ids)
    zone_feeder = {z.id: z.feeder for z in zones}
    tenants = _tenants(check, root.get("tenants"), zone_feeder, feeder_ids)
    total = sum(t.peak_kw for t in tenants)
    if total > MAX_PARK_PEAK_KW:
        check.error("tenants", f"the peaks add up to {total:,.0f} kW; expected at most "
                               f"{MAX_PARK_PEAK_KW:,.0f} kW for one substation")
    common = _common(check, root.get("common"), feeder_ids)
    solar = _solar(check, root.get("solar"), energy)
    water = _water(check, root.get("water"), feeder_ids, energy)
    security = _security(check, root.get("security"), energy)
    if check.errors or park is None or site is None or energy is None:
        raise ScenarioError(check.errors or [f"{source.name}: incomplete scenario"])
    return Scenario(source, park, site, energy, tuple(zones), tuple(tenants), common=common,
                    solar=solar, water=water, security=security)


# --- sections --------------------------------------------------------------------------


def _park(check: _Checker, raw: object) -> Park | None:
    t = check.table(raw, "park", required=("id", "name"), optional=("description",))
    if not t:
        return None
    return Park(check.slug(t, "park", "id"), check.text(t, "park", "name"),
                check.text(t, "park", "description", ""))


def _site(check: _Checker, raw: object) -> Site | None:
    t = check.table(raw, "site", required=("id", "name", "lat", "lon"),
                    optional=("timezone", "region"))
    if not t:
        return None
    tz = check.text(t, "site", "timezone", "Asia/Ho_Chi_Minh")
    if "timezone" in t and isinstance(t["timezone"], str):
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            check.error("site.timezone", f"{tz!r} is not an IANA time zone; expected a name "
                                         "such as 'Asia/Ho_Chi_Minh'")
    region = check.text(t, "site", "region", "north")
    if region not in ("north", "south"):
        check.error("site.region", f"{region!r} is not a region; expected north or south")
    return Site(check.slug(t, "site", "id"), check.text(t, "site", "name"),
                check.number(t, "site", "lat", lo=-90.0, hi=90.0),
                check.number(t, "site", "lon", lo=-180.0, hi=180.0), tz, region)


def _energy(check: _Checker, raw: object) -> Energy | None:
    t = check.table(raw, "energy", required=("substation", "feeders"),
                    optional=("interval_s", "nominal_voltage_ln_v", "tou_profile"))
    if not t:
        return None
    interval = check.integer(t, "energy", "interval_s", 10, lo=1, hi=3600)
    if interval > 0 and 86_400 % interval:
        check.error("energy.interval_s", f"{interval} does not divide a day evenly; expected "
                                         "a divisor of 86400 such as 1, 5, 10, 15, 30 or 60")
    voltage = check.number(t, "energy", "nominal_voltage_ln_v", 220.0, lo=100.0, hi=277.0)
    tou = check.text(t, "energy", "tou_profile", "evn_2014")
    if tou not in TOU_PROFILES:
        check.error("energy.tou_profile",
                    f"{tou!r} is not a TOU profile; expected one of {', '.join(TOU_PROFILES)}")
    s = check.table(t.get("substation"), "energy.substation", required=("id", "name"),
                    optional=("primary_kv", "secondary_kv", "transformers", "transformer_mva"))
    where = "energy.substation"
    substation = Substation(
        check.slug(s, where, "id"), check.text(s, where, "name"),
        check.number(s, where, "primary_kv", 110.0, lo=1.0, hi=1000.0),
        check.number(s, where, "secondary_kv", 22.0, lo=1.0, hi=100.0),
        check.integer(s, where, "transformers", 2, lo=1, hi=10),
        check.number(s, where, "transformer_mva", 63.0, lo=1.0, hi=1000.0),
    )
    rows = check.array(t.get("feeders"), "energy.feeders", ("id", "name"), ())
    feeders = [Feeder(check.slug(f, w, "id"), check.text(f, w, "name")) for w, f in rows]
    check.unique([(w, f.id) for (w, _), f in zip(rows, feeders, strict=True)])
    return Energy((substation,), tuple(feeders), interval, voltage, tou)


def _feeder(check: _Checker, t: Mapping[str, Any], where: str, feeders: set[str]) -> str:
    feeder = check.text(t, where, "feeder")
    if isinstance(t.get("feeder"), str) and feeders and feeder not in feeders:
        check.error(f"{where}.feeder", f"{feeder!r} is not a feeder; expected one of "
                                       f"{', '.join(sorted(feeders))}")
    return feeder


def _common(check: _Checker, raw: object, feeders: set[str]) -> Common | None:
    t = check.table(raw, "common", required=("feeder",), optional=())
    return Common((_feeder(check, t, "common", feeders),)) if t else None


def _solar(check: _Checker, raw: object, energy: Energy | None) -> Solar | None:
    if raw is None:
        return None
    t = check.table(raw, "solar", required=(), optional=("fleet_kwp", "roofs", "interval_s"))
    solar = Solar(check.number(t, "solar", "fleet_kwp", 8000.0, lo=1.0, hi=1_000_000.0),
                  check.integer(t, "solar", "roofs", 25, lo=1, hi=10_000),
                  check.integer(t, "solar", "interval_s", 10, lo=1, hi=3600))
    if energy is not None and solar.interval_s != energy.interval_s:
        check.error("solar.interval_s", f"{solar.interval_s} differs from energy.interval_s "
                                        f"({energy.interval_s}); zero export is settled at "
                                        "every meter step, so inverters report on that grid")
    return solar


def _water(check: _Checker, raw: object, feeders: set[str],
           energy: Energy | None) -> Water | None:
    del energy  # the plant's model keeps its own 60 s / 300 s grids, multiples of 10 s
    t = check.table(raw, "water", required=("feeder",),
                    optional=("design_m3d", "standard", "column", "kq", "kf"))
    if not t:
        return None
    column = check.text(t, "water", "column", "A")
    if column not in ("A", "B"):
        check.error("water.column", f"{column!r} is not a column; expected A or B")
    return Water((_feeder(check, t, "water", feeders),),
                 check.number(t, "water", "design_m3d", 12_000.0, lo=100.0, hi=1_000_000.0),
                 check.text(t, "water", "standard", "qcvn40_2011"), column,
                 check.number(t, "water", "kq", 1.0, lo=0.5, hi=2.0),
                 check.number(t, "water", "kf", 1.0, lo=0.5, hi=2.0))


def _security(check: _Checker, raw: object, energy: Energy | None) -> Security | None:
    del energy
    if raw is None:
        return None
    t = check.table(raw, "security", required=(),
                    optional=("workers", "gates", "pids_zones", "cameras",
                              "common_fire_panels"))
    return Security(check.integer(t, "security", "workers", 20_000, lo=0, hi=10_000_000),
                    check.integer(t, "security", "gates", 6, lo=1, hi=10_000),
                    check.integer(t, "security", "pids_zones", 80, lo=1, hi=100_000),
                    check.integer(t, "security", "cameras", 400, lo=0, hi=1_000_000),
                    check.integer(t, "security", "common_fire_panels", 5, lo=0, hi=10_000))


def _zones(check: _Checker, raw: object, feeders: set[str]) -> list[Zone]:
    zones = []
    rows = check.array(raw, "zones", ("id", "name", "feeder"), ())
    for where, z in rows:
        feeder = check.text(z, where, "feeder")
        if isinstance(z.get("feeder"), str) and feeders and feeder not in feeders:
            check.error(f"{where}.feeder", f"{feeder!r} is not a feeder; expected one of "
                                           f"{', '.join(sorted(feeders))}")
        zones.append(Zone(check.slug(z, where, "id"), check.text(z, where, "name"), feeder))
    check.unique([(w, z.id) for (w, _), z in zip(rows, zones, strict=True)])
    return zones


def _tenants(check: _Checker, raw: object, zone_feeder: dict[str, str],
             feeders: set[str]) -> list[Tenant]:
    tenants = []
    rows = check.array(raw, "tenants", ("id", "name", "zone", "archetype", "peak_kw"),
                       ("shift", "base", "pf_mean", "feeder"))
    for where, t in rows:
        arch_name = check.text(t, where, "archetype")
        arch = ARCHETYPES.get(arch_name)
        if arch is None and isinstance(t.get("archetype"), str):
            check.error(f"{where}.archetype", f"{arch_name!r} is not an archetype; expected "
                                              f"one of {', '.join(ARCHETYPES)}")
        shift = check.text(t, where, "shift", arch.shift if arch else "day")
        if shift not in SHIFT_PATTERNS:
            check.error(f"{where}.shift", f"{shift!r} is not a shift pattern; expected one of "
                                          f"{', '.join(SHIFT_PATTERNS)}")
        zone = check.text(t, where, "zone")
        if isinstance(t.get("zone"), str) and zone_feeder and zone not in zone_feeder:
            check.error(f"{where}.zone", f"{zone!r} is not a zone; expected one of "
                                         f"{', '.join(zone_feeder)}")
        feeder = check.text(t, where, "feeder") if "feeder" in t else zone_feeder.get(zone, "")
        if "feeder" in t and isinstance(t["feeder"], str) and feeder not in feeders:
            check.error(f"{where}.feeder", f"{feeder!r} is not a feeder; expected one of "
                                           f"{', '.join(sorted(feeders))}")
        tenants.append(Tenant(
            id=check.slug(t, where, "id"),
            name=check.text(t, where, "name"),
            zone=zone,
            archetype=arch_name,
            shift=shift,
            peak_kw=check.number(t, where, "peak_kw", lo=1.0, hi=MAX_TENANT_PEAK_KW),
            base=check.number(t, where, "base", arch.base if arch else 0.2, lo=0.0, hi=1.0),
            pf_mean=check.number(t, where, "pf_mean", arch.pf_mean if arch else 0.9,
                                 lo=0.6, hi=0.99),
            feeder=feeder,
        ))
    check.unique([(w, t.id) for (w, _), t in zip(rows, tenants, strict=True)])
    return tenants


# --- the checker ---------------------------------------------------------------------


_MISSING: Any = object()


@dataclass
class _Checker:
    """Collects errors while reading values out of nested TOML tables."""

    filename: str
    errors: list[str] = field(default_factory=list)

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{self.filename}: {where or '(top level)'}: {message}")

    def table(self, raw: object, where: str, *, required: tuple[str, ...],
              optional: tuple[str, ...]) -> dict[str, Any]:
        """Check that *raw* is a table with the required keys and no unknown ones."""
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.error(where, f"is {_kind(raw)}; expected a table")
            return {}
        prefix = f"{where}." if where else ""
        for key in required:
            if key not in raw:
                self.error(f"{prefix}{key}", "is missing; it is required")
        allowed = set(required) | set(optional)
        for key in raw:
            if key not in allowed:
                self.error(f"{prefix}{key}", f"is not a known key; expected one of "
                                             f"{', '.join(sorted(allowed))}")
        return raw

    def array(self, raw: object, where: str, required: tuple[str, ...],
              optional: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
        """Check that *raw* is a non-empty array of tables; return (key path, table) pairs."""
        if raw is None:
            return []
        if not isinstance(raw, list) or not raw:
            self.error(where, f"is {_kind(raw) if raw != [] else 'empty'}; expected a "
                              f"non-empty array of tables ([[{where}]])")
            return []
        rows = []
        for index, item in enumerate(raw):
            path = f"{where}[{index}]"
            table = self.table(item, path, required=required, optional=optional)
            if table:
                rows.append((path, table))
        return rows

    def _get(self, t: Mapping[str, Any], key: str, default: Any) -> Any:
        return t.get(key, default) if default is not _MISSING else t.get(key, _MISSING)

    def text(self, t: Mapping[str, Any], where: str, key: str, default: Any = _MISSING) -> str:
        value = self._get(t, key, default)
        if value is _MISSING:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.error(f"{where}.{key}", f"is {_show(value)}; expected non-empty text")
            return ""
        return value

    def slug(self, t: Mapping[str, Any], where: str, key: str) -> str:
        value = t.get(key, _MISSING)
        if value is _MISSING:
            return ""
        if not isinstance(value, str) or not is_slug(value):
            self.error(f"{where}.{key}", f"{_show(value)} is not an id; expected a slug: "
                                         "lowercase letters, digits and _ . - (start with a "
                                         "letter or digit, at most 64 characters)")
            return ""
        return value

    def number(self, t: Mapping[str, Any], where: str, key: str, default: Any = _MISSING, *,
               lo: float, hi: float) -> float:
        value = self._get(t, key, default)
        if value is _MISSING:
            return 0.0
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            self.error(f"{where}.{key}", f"is {_show(value)}; expected a number")
            return 0.0
        if not lo <= value <= hi:
            self.error(f"{where}.{key}", f"{value:g} is out of range; expected {lo:g} to {hi:g}")
        return float(value)

    def integer(self, t: Mapping[str, Any], where: str, key: str, default: Any = _MISSING, *,
                lo: int, hi: int) -> int:
        value = self._get(t, key, default)
        if value is _MISSING:
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(f"{where}.{key}", f"is {_show(value)}; expected a whole number")
            return 0
        if not lo <= value <= hi:
            self.error(f"{where}.{key}", f"{value} is out of range; expected {lo} to {hi}")
        return value

    def unique(self, ids: list[tuple[str, str]]) -> None:
        """Report every (key path, id) pair whose id was already used."""
        seen: dict[str, str] = {}
        for where, ident in ids:
            if not ident:
                continue
            if ident in seen:
                self.error(f"{where}.id", f"{ident!r} is used twice (first at {seen[ident]}); "
                                          "ids must be unique")
            else:
                seen[ident] = where


def _kind(value: object) -> str:
    names = {dict: "a table", list: "an array", str: "a string", bool: "a boolean",
             int: "an integer", float: "a number"}
    return names.get(type(value), type(value).__name__)


def _show(value: object) -> str:
    if value is _MISSING:
        return "missing"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
