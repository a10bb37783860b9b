"""What a domain model hands back to the engine: telemetry blocks, events and coupling values.

Every domain model (solar, water, security, ...) is a stateful object whose ``step`` method
takes a run of timestamps plus the driving inputs from other domains and returns a
:class:`ModelOutput`. The engine rounds, sequences and encodes; models never see topics,
payloads or sequence numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: A value in an event's details.
EventValue = float | int | bool | str


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One device a model simulates.

    Attributes:
        device_id: unique in the park; a slug (``inv-t017-03``).
        asset_type: its parkwire asset type (``inverter``).
        tags: low-cardinality metadata (``tenant_id``, ``gate_id``...); never personal data.
    """

    device_id: str
    asset_type: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TelemetryBlock:
    """Readings of all devices of one asset type at some instants.

    Attributes:
        asset_type: parkwire asset type of every device in the block.
        device_ids: the devices, in a fixed order (columns of each array).
        t_ms: the instants [ms since epoch, UTC], shape (k,), increasing; may be empty.
        values: parkwire field name -> array (k, m), unrounded; ints and flags as floats
            holding whole numbers (0.0/1.0 for flags). Every field of the asset type present.
    """

    asset_type: str
    device_ids: tuple[str, ...]
    t_ms: IntArray
    values: dict[str, FloatArray]


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One discrete occurrence for the event channel.

    Attributes:
        ts_ms: when it happened [ms since epoch, UTC].
        device_id: the device that reports it.
        event: short snake_case event type (``badge_granted``, ``fire_alarm``).
        data: details as scalars. Personal identifiers (badge ids, plates) belong here, as
            values, never in tags.
        report_ms: when the system reports it, an instant of the stepped window (its
            message goes out with that step); ``None`` means at ``ts_ms``, which must then
            lie inside the window.
    """

    ts_ms: int
    device_id: str
    event: str
    data: dict[str, EventValue] = field(default_factory=dict)
    report_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ModelOutput:
    """Everything one ``step`` call produced.

    Attributes:
        telemetry: one block per asset type the model publishes.
        events: occurrences in time order (ties broken by device id).
        coupling: named arrays other domains consume (``pv_ac_kw`` per tenant,
            ``load_kw`` of the plant...), aligned with the step's timestamps.
    """

    telemetry: tuple[TelemetryBlock, ...] = ()
    events: tuple[EventRecord, ...] = ()
    coupling: dict[str, FloatArray] = field(default_factory=dict)
