"""Sinks: where batches go. ``write`` returns only when the batch is durable, else raises."""

from collector.sinks.base import (
    FatalSinkError,
    RejectedBatchError,
    RetryableSinkError,
    Sink,
    SinkError,
)
from collector.sinks.embedded import EmbeddedSink
from collector.sinks.influx import InfluxSink
from collector.sinks.memory import FaultySink, MemorySink

__all__ = [
    "EmbeddedSink",
    "FatalSinkError",
    "FaultySink",
    "InfluxSink",
    "MemorySink",
    "RejectedBatchError",
    "RetryableSinkError",
    "Sink",
    "SinkError",
]
