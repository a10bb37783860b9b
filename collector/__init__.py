"""The smartpark collector: MQTT in, validated, batched, stored, acknowledged only when durable.

The pipeline is ``source -> decode/validate -> map -> batch -> sink -> ack`` (see
``docs/collector.md``). :class:`Collector` runs it; :class:`EmbeddedStore` reads what the
embedded sink stored.
"""

from collector.config import CollectorConfig, ConfigError, load_config
from collector.service import Collector
from collector.stats import CollectorStats
from collector.store import EmbeddedStore

__all__ = [
    "Collector",
    "CollectorConfig",
    "CollectorStats",
    "ConfigError",
    "EmbeddedStore",
    "load_config",
]
