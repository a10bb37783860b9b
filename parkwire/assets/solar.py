"""Rooftop solar device types: PV inverters and meteorological stations.

* ``inverter``: a three-phase string inverter reporting the SunSpec Model 103 points under
  their SunSpec names, verbatim (domain.md §3.5, [P3]), in SI units without scale factors:
  W, VA, var, V, A, Hz, Wh, °C. ``PF`` is in percent, as SunSpec's ``Pct`` unit says.
  ``St`` is the SunSpec operating state and ``Evt1`` the SunSpec event bitfield.
* ``weather_station``: the park's PV met station (domain.md §3.4): global and plane-of-array
  irradiance, air and module temperature, humidity, wind, rain and the clear-sky index.

Typical values and sources are in ``docs/models/solar.md``.
"""

from __future__ import annotations

from parkwire.schema import AssetType, Kind, Naming, Quantity, ValueType, quantity_map
from parkwire.topics import Domain

#: SunSpec Model 103 operating states (``St``).
ST_OFF = 1
ST_SLEEPING = 2
ST_STARTING = 3
ST_MPPT = 4
ST_THROTTLED = 5
ST_SHUTTING_DOWN = 6
ST_FAULT = 7
ST_STANDBY = 8

#: SunSpec Model 103 ``Evt1`` bit numbers this simulator raises.
EVT_GROUND_FAULT = 0
EVT_GRID_DISCONNECT = 4
EVT_OVER_TEMP = 7

# Bounds cover string inverters and optional central units of up to ~1.2 MW AC.
_W_MAX = 1_500_000.0
_A_MAX = 3_000.0
_COUNTER_MAX = 1e12


def _phase(name: str, unit: str, what: str, maximum: float) -> Quantity:
    return Quantity(name, unit, what, 0.0, maximum, decimals=1)


#: This domain's device types, in registry order.
ASSET_TYPES: tuple[AssetType, ...] = (
    AssetType(
        "inverter", Domain.SOLAR, "pv_inverter",
        "Three-phase PV string inverter, SunSpec Model 103 points (SI units, PF in percent)",
        quantity_map(
            _phase("A", "A", "AC current, sum of the three phases", _A_MAX),
            _phase("AphA", "A", "AC current, phase A", _A_MAX),
            _phase("AphB", "A", "AC current, phase B", _A_MAX),
            _phase("AphC", "A", "AC current, phase C", _A_MAX),
            _phase("PPVphAB", "V", "Line voltage A-B", 1_000.0),
            _phase("PPVphBC", "V", "Line voltage B-C", 1_000.0),
            _phase("PPVphCA", "V", "Line voltage C-A", 1_000.0),
            _phase("PhVphA", "V", "Phase voltage A-N", 600.0),
            _phase("PhVphB", "V", "Phase voltage B-N", 600.0),
            _phase("PhVphC", "V", "Phase voltage C-N", 600.0),
            Quantity("W", "W", "AC active power delivered", 0.0, _W_MAX, decimals=0),
            Quantity("Hz", "Hz", "Grid frequency (0 when the grid is lost)", 0.0, 65.0,
                     decimals=2),
            Quantity("VA", "VA", "AC apparent power", 0.0, _W_MAX, decimals=0),
            Quantity("VAr", "var", "AC reactive power (negative = capacitive)", -_W_MAX, _W_MAX,
                     decimals=0),
            Quantity("PF", "%", "Power factor in percent (SunSpec Pct), magnitude", 0.0, 100.0,
                     decimals=1),
            Quantity("WH", "Wh", "AC energy delivered since commissioning", 0.0, _COUNTER_MAX,
                     Kind.COUNTER, decimals=0),
            Quantity("DCA", "A", "DC input current", 0.0, _A_MAX, decimals=1),
            Quantity("DCV", "V", "DC input voltage", 0.0, 1_500.0, decimals=1),
            Quantity("DCW", "W", "DC input power", 0.0, _W_MAX * 1.1, decimals=0),
            Quantity("TmpCab", "Cel", "Cabinet temperature", -20.0, 120.0, decimals=1),
            Quantity("TmpSnk", "Cel", "Heat-sink temperature", -20.0, 120.0, decimals=1),
            Quantity("St", "", "Operating state: 1 off, 2 sleeping, 3 starting, 4 MPPT, "
                     "5 throttled, 6 shutting down, 7 fault, 8 standby", 0, 8, Kind.STATE,
                     ValueType.INT, 0),
            Quantity("Evt1", "", "Event bitfield: bit 0 ground fault, 4 grid disconnect, "
                     "7 over-temperature (SunSpec Evt1)", 0, 4_294_967_295, Kind.STATE,
                     ValueType.INT, 0),
        ),
        naming=Naming.SUNSPEC,
    ),
    AssetType(
        "weather_station", Domain.SOLAR, "pv_weather",
        "PV meteorological station: pyranometers, temperatures, humidity, wind, rain",
        quantity_map(
            Quantity("ghi_wm2", "W/m2", "Global horizontal irradiance", 0.0, 1_800.0,
                     decimals=1),
            Quantity("poa_wm2", "W/m2", "Plane-of-array irradiance", 0.0, 1_800.0, decimals=1),
            Quantity("t_air_c", "Cel", "Air temperature", -10.0, 60.0, decimals=1),
            Quantity("t_module_c", "Cel", "Back-of-module temperature", -10.0, 100.0,
                     decimals=1),
            Quantity("rh_pct", "%", "Relative humidity", 0.0, 100.0, decimals=1),
            Quantity("wind_ms", "m/s", "Wind speed", 0.0, 60.0, decimals=1),
            Quantity("rain_mmh", "mm/h", "Rain rate", 0.0, 300.0, decimals=1),
            Quantity("kc", "1", "Clear-sky index: GHI over modelled clear-sky GHI (0 at night)",
                     0.0, 2.0, decimals=3),
        ),
    ),
)
