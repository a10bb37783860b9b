"""The wastewater plant's device types: station record, process record, quality panel."""

from __future__ import annotations

import pytest

from parkwire import ASSET_TYPES, Domain, Kind, ValueType
from parkwire.assets import water

STATION_PARAMETERS = {"temp_c": "temp", "ph": "ph", "tss_mgl": "tss", "cod_mgl": "cod",
                      "nh4_n_mgl": "nh4_n"}


def test_water_types_are_registered_in_the_water_domain() -> None:
    """Station, process and quality types are in the registry, each in its own table."""
    for asset in water.ASSET_TYPES:
        assert ASSET_TYPES[asset.name] == asset
        assert asset.domain is Domain.WATER
    names = {a.name: a.measurement for a in water.ASSET_TYPES}
    assert names == {"monitoring_station": "monitoring_station", "wwtp": "wwtp",
                     "wwtp_quality": "wwtp_quality"}


def test_station_record_has_the_donre_minimum_set() -> None:
    """Flow in/out, T, pH, TSS, COD and NH4-N each with a status; limited ones with a flag."""
    station = ASSET_TYPES["monitoring_station"]
    fields = set(station.field_names)
    assert {"q_in_m3h", "q_in_status", "q_out_m3h", "q_out_status", "tx_ok"} <= fields
    for name, stem in STATION_PARAMETERS.items():
        assert {name, f"{stem}_status", f"{stem}_ok"} <= fields


@pytest.mark.parametrize("asset", ["monitoring_station", "wwtp"])
def test_status_codes_are_small_ints_and_flags_are_bools(asset: str) -> None:
    """*_status is an INT state 0..2 (00/01/02); *_ok and running are BOOL states."""
    for quantity in ASSET_TYPES[asset].quantities.values():
        if quantity.name.endswith("_status"):
            assert (quantity.value_type, quantity.kind) == (ValueType.INT, Kind.STATE)
            assert (quantity.minimum, quantity.maximum) == (0, 2)
        if quantity.name.endswith("_ok") or quantity.name == "running":
            assert (quantity.value_type, quantity.kind) == (ValueType.BOOL, Kind.STATE)


def test_status_code_constants() -> None:
    """Measuring, calibrating and error map to 0, 1, 2 (the [V] codes 00, 01, 02)."""
    assert (water.STATUS_MEASURING, water.STATUS_CALIBRATING, water.STATUS_ERROR) == (0, 1, 2)


def test_process_record_carries_do_control_and_power() -> None:
    """The process record has DO with its status and setpoint, air, blower, pump and load."""
    fields = ASSET_TYPES["wwtp"].field_names
    for name in ("do_mgl", "do_status", "do_setpoint_mgl", "air_m3h", "blower_kw", "pump_kw",
                 "load_kw", "mlss_mgl", "orp_mv", "eq_level_pct", "q_bio_m3h"):
        assert name in fields


def test_quality_panel_has_the_influent_parameters() -> None:
    """The quality panel reports the nine §4.3 parameters at either location."""
    assert ASSET_TYPES["wwtp_quality"].field_names == (
        "cod_mgl", "bod5_mgl", "tss_mgl", "nh4_n_mgl", "tn_mgl", "tp_mgl", "ph", "temp_c",
        "colour_ptco")


def test_ranges_admit_column_b_exceedances() -> None:
    """Ranges reach far beyond the column-B limits, so a real exceedance is never garbage."""
    station = ASSET_TYPES["monitoring_station"].quantities
    assert station["cod_mgl"].maximum >= 10 * 150
    assert station["nh4_n_mgl"].maximum >= 10 * 10
    assert station["ph"].minimum == 0.0
    assert station["ph"].maximum == 14.0
