"""Central wastewater plant device types: monitoring station, process sensors, water quality.

* ``monitoring_station``: the automatic continuous monitoring station at the outfall, whose
  5-minute record goes to the provincial environment department (DONRE): flow in and out,
  temperature, pH, TSS, COD and NH4-N (domain.md §4.2, [W8]), each with the instrument status
  of the record and a compliance flag against the configured effluent limit, plus the health of
  the transmission link.
* ``wwtp``: the plant's own process record (equalisation, aeration, blowers, pumps), not sent
  to DONRE (domain.md §4.3).
* ``wwtp_quality``: the plant's online water-quality panel, one device per location
  (``influent`` and ``effluent``), with the same fields at both.

Instrument status codes: 0 = ``00`` measuring, 1 = ``01`` calibrating, 2 = ``02`` error. The
three statuses are cited ([W6][W17]); the numeric codes are [V] (domain.md §4.2, §9 item 5).
Typical values and sources are in ``docs/models/wastewater.md``.
"""

from __future__ import annotations

from parkwire.schema import AssetType, Kind, Quantity, ValueType, quantity_map
from parkwire.topics import Domain

#: Instrument status codes of a station record ([V] numbering, cited meanings).
STATUS_MEASURING = 0
STATUS_CALIBRATING = 1
STATUS_ERROR = 2

#: Flow bounds [m3/h]: ten times the reference plant's 500 m3/h design mean.
_Q_MAX = 5_000.0


def _status(name: str, what: str) -> Quantity:
    return Quantity(name, "", f"Instrument status of {what}: 0 measuring, 1 calibrating, "
                    "2 error (codes 00/01/02, [V])", 0, 2, Kind.STATE, ValueType.INT, 0)


def _ok(name: str, what: str) -> Quantity:
    return Quantity(name, "", f"{what} complies with the configured effluent limit", 0, 1,
                    Kind.STATE, ValueType.BOOL, 0)


#: This domain's device types, in registry order.
ASSET_TYPES: tuple[AssetType, ...] = (
    AssetType(
        "monitoring_station", Domain.WATER, "monitoring_station",
        "Automatic continuous monitoring station at the WWTP outfall (5-min record to DONRE)",
        quantity_map(
            Quantity("q_in_m3h", "m3/h", "Plant inflow", 0.0, _Q_MAX, decimals=1),
            _status("q_in_status", "the inflow meter"),
            Quantity("q_out_m3h", "m3/h", "Treated effluent discharged", 0.0, _Q_MAX,
                     decimals=1),
            _status("q_out_status", "the outflow meter"),
            Quantity("temp_c", "Cel", "Effluent temperature", 0.0, 60.0, decimals=1),
            _status("temp_status", "the temperature probe"),
            _ok("temp_ok", "Temperature"),
            Quantity("ph", "[pH]", "Effluent pH", 0.0, 14.0, decimals=2),
            _status("ph_status", "the pH analyser"),
            _ok("ph_ok", "pH"),
            Quantity("tss_mgl", "mg/L", "Effluent total suspended solids", 0.0, 5_000.0,
                     decimals=1),
            _status("tss_status", "the TSS analyser"),
            _ok("tss_ok", "TSS"),
            Quantity("cod_mgl", "mg/L", "Effluent chemical oxygen demand", 0.0, 10_000.0,
                     decimals=1),
            _status("cod_status", "the COD analyser"),
            _ok("cod_ok", "COD"),
            Quantity("nh4_n_mgl", "mg/L", "Effluent ammonium as N", 0.0, 500.0, decimals=2),
            _status("nh4_n_status", "the ammonium analyser"),
            _ok("nh4_n_ok", "Ammonium"),
            Quantity("tx_ok", "", "The last record reached DONRE (transmission link healthy)",
                     0, 1, Kind.STATE, ValueType.BOOL, 0),
        ),
    ),
    AssetType(
        "wwtp", Domain.WATER, "wwtp",
        "WWTP process record: equalisation, aeration (DO control), blowers, pumps",
        quantity_map(
            Quantity("q_in_m3h", "m3/h", "Raw wastewater arriving at the equalisation tank",
                     0.0, _Q_MAX, decimals=1),
            Quantity("q_bio_m3h", "m3/h", "Flow pumped from equalisation to the biology", 0.0,
                     _Q_MAX, decimals=1),
            Quantity("eq_level_pct", "%", "Equalisation tank level", 0.0, 100.0, decimals=1),
            Quantity("temp_c", "Cel", "Aeration basin temperature", 0.0, 60.0, decimals=1),
            Quantity("do_mgl", "mg/L", "Dissolved oxygen in the aeration zone (as measured)",
                     0.0, 20.0, decimals=2),
            _status("do_status", "the DO probe"),
            Quantity("do_setpoint_mgl", "mg/L", "DO controller setpoint", 0.0, 20.0,
                     decimals=2),
            Quantity("air_m3h", "m3/h", "Blower air flow", 0.0, 50_000.0, decimals=0),
            Quantity("blower_kw", "kW", "Blower electrical power", 0.0, 2_000.0, decimals=1),
            Quantity("pump_kw", "kW", "Pump electrical power (lift, sludge return, recycle)",
                     0.0, 1_000.0, decimals=1),
            Quantity("load_kw", "kW", "Plant total electrical load", 0.0, 5_000.0, decimals=1),
            Quantity("running", "", "Blowers and pumps have supply and run", 0, 1, Kind.STATE,
                     ValueType.BOOL, 0),
            Quantity("nh4_n_mgl", "mg/L", "Ammonium at the aeration outlet (ISE analyser)", 0.0,
                     500.0, decimals=2),
            _status("nh4_n_status", "the aeration ammonium analyser"),
            Quantity("mlss_mgl", "mg/L", "Mixed liquor suspended solids", 0.0, 20_000.0,
                     decimals=0),
            Quantity("orp_mv", "mV", "Oxidation-reduction potential, aeration zone", -800.0,
                     800.0, decimals=0),
        ),
    ),
    AssetType(
        "wwtp_quality", Domain.WATER, "wwtp_quality",
        "WWTP online water-quality panel at one location (influent or effluent)",
        quantity_map(
            Quantity("cod_mgl", "mg/L", "Chemical oxygen demand", 0.0, 20_000.0, decimals=1),
            Quantity("bod5_mgl", "mg/L", "Biochemical oxygen demand (5 days, 20 degC)", 0.0,
                     10_000.0, decimals=1),
            Quantity("tss_mgl", "mg/L", "Total suspended solids", 0.0, 10_000.0, decimals=1),
            Quantity("nh4_n_mgl", "mg/L", "Ammonium as N", 0.0, 1_000.0, decimals=2),
            Quantity("tn_mgl", "mg/L", "Total nitrogen", 0.0, 2_000.0, decimals=2),
            Quantity("tp_mgl", "mg/L", "Total phosphorus as P", 0.0, 200.0, decimals=2),
            Quantity("ph", "[pH]", "pH", 0.0, 14.0, decimals=2),
            Quantity("temp_c", "Cel", "Water temperature", 0.0, 60.0, decimals=1),
            Quantity("colour_ptco", "Pt-Co", "Colour (platinum-cobalt scale)", 0.0, 5_000.0,
                     decimals=0),
        ),
    ),
)
