"""A small asyncio MQTT 3.1.1 / 5 client built for publishing fast.

:mod:`simulator.mqtt.packets` encodes and parses packets (pure, no I/O);
:mod:`simulator.mqtt.client` runs one connection. Why smartpark has its own client rather than
paho-mqtt is explained in ``docs/load-testing.md`` (in short: paho's per-message cost caps a
publish loop at about half of what the broker accepts, and its message ids silently wrap when
more than 65,535 QoS 1/2 messages wait for acknowledgement).
"""

from simulator.mqtt.client import ConnectOptions, MqttConnection, MqttError, TlsOptions, Will

__all__ = ["ConnectOptions", "MqttConnection", "MqttError", "TlsOptions", "Will"]
