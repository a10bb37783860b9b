"""Solar device types: SunSpec Model 103 inverter points and the PV met station."""

from __future__ import annotations

from parkwire import ASSET_TYPES, Domain, Kind, ValueType
from parkwire.assets import solar
from parkwire.schema import Naming

SUNSPEC_103 = ("A", "AphA", "AphB", "AphC", "PPVphAB", "PPVphBC", "PPVphCA", "PhVphA", "PhVphB",
               "PhVphC", "W", "Hz", "VA", "VAr", "PF", "WH", "DCA", "DCV", "DCW", "TmpCab",
               "TmpSnk", "St", "Evt1")


def test_solar_types_are_registered() -> None:
    """The registry holds this module's inverter and met station, in the solar domain."""
    for asset in solar.ASSET_TYPES:
        assert ASSET_TYPES[asset.name] is asset
        assert asset.domain is Domain.SOLAR
    assert [a.name for a in solar.ASSET_TYPES] == ["inverter", "weather_station"]


def test_inverter_uses_sunspec_point_names_verbatim() -> None:
    """pv_inverter fields are SunSpec Model 103 point names, in model order (domain.md §3.5)."""
    inverter = ASSET_TYPES["inverter"]
    assert inverter.measurement == "pv_inverter"
    assert inverter.naming is Naming.SUNSPEC
    assert inverter.field_names == SUNSPEC_103


def test_inverter_units_are_si_without_scale_factors() -> None:
    """Units are the SunSpec SI units (W, Wh, V, A, var, Cel) and PF is in percent."""
    quantities = ASSET_TYPES["inverter"].quantities
    assert {quantities[n].unit for n in ("W", "VA", "DCW")} == {"W", "VA"}
    assert quantities["WH"].unit == "Wh"
    assert quantities["WH"].kind is Kind.COUNTER
    assert quantities["VAr"].unit == "var"
    assert (quantities["PF"].unit, quantities["PF"].maximum) == ("%", 100.0)
    assert quantities["TmpSnk"].unit == "Cel"
    assert quantities["VAr"].minimum < 0.0


def test_state_and_event_points_are_integer_states() -> None:
    """St spans the SunSpec states 1..8 and Evt1 a 32-bit field; both are INT states."""
    quantities = ASSET_TYPES["inverter"].quantities
    st, evt = quantities["St"], quantities["Evt1"]
    assert (st.kind, st.value_type, st.maximum) == (Kind.STATE, ValueType.INT, 8)
    assert (evt.kind, evt.value_type, evt.maximum) == (Kind.STATE, ValueType.INT, 2**32 - 1)
    assert (solar.ST_SLEEPING, solar.ST_MPPT, solar.ST_THROTTLED, solar.ST_FAULT) == (2, 4, 5, 7)
    assert (solar.EVT_GROUND_FAULT, solar.EVT_GRID_DISCONNECT, solar.EVT_OVER_TEMP) == (0, 4, 7)


def test_met_station_fields() -> None:
    """The PV met station reports to pv_weather with unit-suffixed names."""
    station = ASSET_TYPES["weather_station"]
    assert station.measurement == "pv_weather"
    assert station.naming is Naming.SMARTPARK
    assert station.field_names == ("ghi_wm2", "poa_wm2", "t_air_c", "t_module_c", "rh_pct",
                                   "wind_ms", "rain_mmh", "kc")
    assert station.quantities["kc"].unit == "1"
    assert station.quantities["ghi_wm2"].maximum >= 1_500.0  # cloud enhancement
