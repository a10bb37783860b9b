"""Turn domain-model output into window parts: rounded value blocks and sequenced events.

Models return unrounded arrays at their own instants and events without sequence numbers
(:mod:`simulator.models.output`); this module gives each block its rows in the window, its
devices' topics and sequence numbers, rounds readings to the registry's resolution, and
numbers and encodes events per device. Sequence numbers continue across windows, so a run
cut into windows numbers every device's messages exactly as one long window would.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import orjson

from parkwire import ASSET_TYPES, SCHEMA_VERSION, Channel, Topic, format_ts
from simulator.encode import EventLine, ValueBlock
from simulator.models.output import DeviceSpec, EventRecord, TelemetryBlock

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: An event payload, key for key what parkwire.encode writes for an Event.
_EVENT = b'{"v":%d,"ts":"%s","seq":%d,"event":%s,"data":%s}'


def round_block(asset_type: str, values: dict[str, FloatArray]) -> tuple[
        tuple[str, ...], FloatArray]:
    """Stack *values* in registry field order, rounded to each quantity's decimals.

    Returns the field names and the array (k, m, f).

    Raises:
        KeyError: a registry field is missing from *values* (named in the message).
    """
    spec = ASSET_TYPES[asset_type]
    fields = spec.field_names
    missing = [name for name in fields if name not in values]
    if missing:
        msg = f"{asset_type}: the model returned no {', '.join(missing)}"
        raise KeyError(msg)
    first = np.asarray(values[fields[0]])
    data = np.empty((*first.shape, len(fields)))
    scale = np.array([10.0 ** spec.quantities[name].decimals for name in fields])
    # Scale while packing (one pass), round half to even, unscale: dividing (not multiplying
    # by 1/scale) returns the double nearest to k / 10**d, whose shortest repr is short.
    for index, name in enumerate(fields):
        np.multiply(values[name], scale[index], out=data[..., index])
    np.rint(data, out=data)
    np.divide(data, scale, out=data)
    return fields, data


class Assembler:
    """Keeps per-block and per-device sequence numbers for one engine run.

    Args:
        park: first topic level.
        site: second topic level.
        devices: every model device, for its topic.
    """

    def __init__(self, park: str, site: str, devices: tuple[DeviceSpec, ...]) -> None:
        self._topics: dict[str, Topic] = {}
        for device in devices:
            domain = ASSET_TYPES[device.asset_type].domain
            self._topics[device.device_id] = Topic(park, site, domain, device.asset_type,
                                                   device.device_id, Channel.TELEMETRY)
        self._block_seq: dict[tuple[str, tuple[str, ...]], int] = {}
        self._block_topics: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._event_seq: dict[str, int] = {}
        self._event_topics: dict[str, str] = {}

    def topic(self, device_id: str, channel: Channel = Channel.TELEMETRY) -> str:
        """Return a device's topic on *channel*."""
        return str(self._topics[device_id].with_channel(channel))

    def block(self, block: TelemetryBlock, t0_ms: int, interval_ms: int) -> ValueBlock:
        """Return *block* as a window part whose window starts at *t0_ms*.

        Raises:
            ValueError: an instant is not on the window's grid.
        """
        offsets = block.t_ms - t0_ms
        if (offsets % interval_ms).any() or (offsets < 0).any():
            msg = f"{block.asset_type}: instants off the {interval_ms} ms grid of the window"
            raise ValueError(msg)
        fields, data = round_block(block.asset_type, block.values)
        key = (block.asset_type, block.device_ids)
        seq0 = self._block_seq.get(key, 0)
        self._block_seq[key] = seq0 + len(block.t_ms)
        topics = self._block_topics.get(block.device_ids)
        if topics is None:
            topics = tuple(str(self._topics[d]) for d in block.device_ids)
            self._block_topics[block.device_ids] = topics
        return ValueBlock(block.asset_type, fields, block.device_ids, topics, data,
                          rows=(offsets // interval_ms).astype(np.int64), seq0=seq0)

    def events(self, records: tuple[EventRecord, ...], t0_ms: int,
               interval_ms: int) -> list[EventLine]:
        """Number and encode *records* (time-ordered) as window event lines, by report step.

        Raises:
            ValueError: an event would be reported outside the window.
        """
        out: list[tuple[int, EventLine]] = []
        for record in records:
            seq = self._event_seq.get(record.device_id, 0)
            self._event_seq[record.device_id] = seq + 1
            topic = self._event_topics.get(record.device_id)
            if topic is None:
                topic = str(self._topics[record.device_id].with_channel(Channel.EVENT))
                self._event_topics[record.device_id] = topic
            # parkwire.encode's bytes, without building the Event and Topic objects (events
            # can be the busiest part of a window: every badge read at a shift change).
            payload = _EVENT % (SCHEMA_VERSION, format_ts(record.ts_ms).encode(), seq,
                                orjson.dumps(record.event), orjson.dumps(record.data))
            reported = record.ts_ms if record.report_ms is None else record.report_ms
            row = (reported - t0_ms) // interval_ms
            if row < 0:
                msg = (f"{record.event} of {record.device_id} is reported at {reported}, "
                       f"before the window starts ({t0_ms})")
                raise ValueError(msg)
            out.append((row, EventLine(row, topic, payload)))
        # Stable: within a step, events keep their time order.
        out.sort(key=lambda item: item[0])
        return [line for _, line in out]
