"""Sinks: where batches go. ``write`` returns only when the batch is durable, else raises."""

from collector.sinks.base import Sink, SinkError
from collector.sinks.embedded import EmbeddedSink
from collector.sinks.influx import InfluxSink
from collector.sinks.memory import FaultySink, MemorySink

__all__ = ["EmbeddedSink", "FaultySink", "InfluxSink", "MemorySink", "Sink", "SinkError"]
