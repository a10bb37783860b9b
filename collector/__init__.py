"""The smartpark collector: MQTT in, validated, batched, stored, acknowledged only when durable.

The pipeline is ``source -> decode/validate -> map -> batch -> sink -> ack`` (see
``docs/collector.md``). :class:`Collector` runs it; :class:`EmbeddedStore` reads what the
embedded sink stored.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Importing the package stays cheap (the command line lists every command before it runs
# one); the MQTT client, InfluxDB client and DuckDB load when first used.
_WHERE = {
    "Collector": "collector.service", "CollectorConfig": "collector.config",
    "CollectorStats": "collector.stats", "ConfigError": "collector.config",
    "EmbeddedStore": "collector.store", "load_config": "collector.config",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        msg = f"module 'collector' has no attribute {name!r}"
        raise AttributeError(msg)
    import importlib  # noqa: PLC0415

    return getattr(importlib.import_module(module), name)
