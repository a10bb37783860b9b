"""The shipped broker security (deploy/mosquitto) enforced by the real mosquitto.

The broker runs the very config, ACL files and certificate script docker-compose uses, with
container paths moved to a temporary directory (:class:`tests.servers.SecureMosquitto`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from collector.config import CollectorConfig, load_config
from collector.leave import leave_group
from collector.service import Collector
from collector.source import MqttConnectError, MqttSource, tls_context
from collector.store import EmbeddedStore
from parkwire import Channel, Domain, Telemetry, Topic, encode
from tests.servers import DEPLOY_MOSQUITTO, SecureMosquitto

pytestmark = pytest.mark.integration

USERS = {"collector": "collector-test-secret", "simulator": "simulator-test-secret"}
#: Device users of the device listener: user name = device id (three, in two files).
DEVICES = {"mtr-001": "meter-one-secret", "mtr-002": "meter-two-secret",
           "gate-01": "gate-secret"}
PARK_TOPIC = "refpark/bac-ninh/energy/meter/mtr-001/telemetry"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[SecureMosquitto]:
    """A mosquitto on the shipped secure config with the two stack users and three devices."""
    with SecureMosquitto(tmp_path / "mosquitto", users=USERS, devices=DEVICES) as server:
        yield server


class Client:
    """A blocking MQTT 5 test client that records what it receives and every reason code."""

    def __init__(self, port: int, user: str | None = None, password: str | None = None,
                 ca_file: Path | None = None) -> None:
        self.got: list[tuple[str, bytes]] = []
        self.connack: ReasonCode | None = None
        self.suback: list[ReasonCode] = []
        self.puback: dict[int, ReasonCode] = {}
        self._event = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if user is not None:
            client.username_pw_set(user, password)
        if ca_file is not None:
            client.tls_set_context(tls_context(str(ca_file)))
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_publish = self._on_publish
        client.on_message = lambda _c, _u, m: self.got.append((m.topic, bytes(m.payload)))
        self.client = client
        client.connect("127.0.0.1", port)
        client.loop_start()
        assert self._event.wait(10), "no CONNACK"

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        self.connack = reason
        self._event.set()

    def _on_subscribe(self, _c: Any, _u: Any, _m: int, reasons: list[ReasonCode],
                      _p: Any) -> None:
        self.suback = reasons
        self._event.set()

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: ReasonCode, _p: Any) -> None:
        self.puback[mid] = reason

    @property
    def accepted(self) -> bool:
        """Whether the broker accepted the connection."""
        return self.connack is not None and not self.connack.is_failure

    def subscribe(self, topic: str) -> list[ReasonCode]:
        """Subscribe at QoS 1; return the SUBACK reason codes."""
        self._event.clear()
        self.client.subscribe(topic, qos=1)
        assert self._event.wait(10), "no SUBACK"
        return self.suback

    def publish(self, topic: str, payload: bytes = b"{}") -> ReasonCode:
        """Publish at QoS 1; return the PUBACK reason code."""
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(10)
        deadline = time.monotonic() + 10
        while info.mid not in self.puback:
            assert time.monotonic() < deadline, "no PUBACK"
            time.sleep(0.01)
        return self.puback[info.mid]

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


def _settle() -> None:
    """Give the broker time to route what was published (deliveries are asynchronous)."""
    time.sleep(0.3)


def test_anonymous_and_wrong_passwords_are_refused(broker: SecureMosquitto) -> None:
    """No login, an unknown user or a wrong password: CONNACK 'not authorized' on both ports."""
    for user, password in ((None, None), ("intruder", "x"), ("collector", "wrong")):
        plain = Client(broker.port, user, password)
        tls = Client(broker.tls_port, user, password, ca_file=broker.ca_file)
        for client in (plain, tls):
            assert not client.accepted
            assert client.connack is not None
            assert client.connack.getName() in {"Not authorized", "Bad user name or password"}
            client.close()


def test_the_collector_reads_everything_and_may_publish_nothing(
        broker: SecureMosquitto) -> None:
    """The collector receives the park's messages; its own publications are refused."""
    collector = Client(broker.port, "collector", USERS["collector"])
    simulator = Client(broker.port, "simulator", USERS["simulator"])
    try:
        assert collector.accepted
        assert not collector.subscribe("+/+/+/+/+/+")[0].is_failure
        assert not simulator.publish(PARK_TOPIC, b"from-simulator").is_failure
        for topic in (PARK_TOPIC, "otherpark/s/energy/meter/m/telemetry", "collector/x"):
            assert collector.publish(topic, b"from-collector").getName() == "Not authorized"
        _settle()
    finally:
        collector.close()
        simulator.close()
    assert collector.got == [(PARK_TOPIC, b"from-simulator")]


def test_the_simulator_writes_only_inside_its_park_and_reads_nothing(
        broker: SecureMosquitto) -> None:
    """The simulator's writes outside refpark/# are refused, as is reading the park."""
    collector = Client(broker.port, "collector", USERS["collector"])
    simulator = Client(broker.port, "simulator", USERS["simulator"])
    try:
        collector.subscribe("#")
        simulator.subscribe("refpark/#")
        for topic in ("otherpark/bac-ninh/energy/meter/mtr-001/telemetry", "$SYS/x", "x"):
            assert simulator.publish(topic, b"outside").getName() == "Not authorized"
        assert not simulator.publish(PARK_TOPIC, b"inside").is_failure
        _settle()
    finally:
        collector.close()
        simulator.close()
    assert collector.got == [(PARK_TOPIC, b"inside")]
    assert simulator.got == []  # its subscription delivers nothing: it may not read


def test_tls_listener_checks_the_broker_and_refuses_plain_mqtt(
        broker: SecureMosquitto) -> None:
    """Over TLS with the shipped script's CA the login works; plain MQTT on 8883 does not."""
    tls = Client(broker.tls_port, "collector", USERS["collector"], ca_file=broker.ca_file)
    assert tls.accepted
    tls.close()
    plain = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    plain.username_pw_set("collector", USERS["collector"])
    plain.connect("127.0.0.1", broker.tls_port)
    rc = plain.loop(timeout=2.0)
    for _ in range(20):
        if rc != mqtt.MQTT_ERR_SUCCESS or plain.is_connected():
            break
        rc = plain.loop(timeout=0.2)
    assert not plain.is_connected()
    plain.disconnect()
    stranger = ssl.create_default_context()  # the system CAs do not know the demo CA
    with socket.create_connection(("127.0.0.1", broker.tls_port), 5) as raw, \
            pytest.raises(ssl.SSLCertVerificationError):
        stranger.wrap_socket(raw, server_hostname="localhost")


def test_the_loopback_listener_serves_sys_to_anyone_and_nothing_else(
        broker: SecureMosquitto) -> None:
    """Anonymous on the local port reads $SYS (the health check) but not the park."""
    simulator = Client(broker.port, "simulator", USERS["simulator"])
    local = Client(broker.local_port)
    try:
        assert local.accepted
        local.subscribe("$SYS/broker/version")
        local.subscribe("refpark/#")
        assert local.publish(PARK_TOPIC, b"anonymous").getName() == "Not authorized"
        simulator.publish(PARK_TOPIC, b"secret")
        _settle()
    finally:
        local.close()
        simulator.close()
    topics = {topic for topic, _ in local.got}
    assert topics == {"$SYS/broker/version"}


def test_a_device_publishes_only_under_its_own_subtree(broker: SecureMosquitto) -> None:
    """On the device listener mtr-001 writes its telemetry, status and events, nothing else."""
    collector = Client(broker.port, "collector", USERS["collector"])
    device = Client(broker.device_port, "mtr-001", DEVICES["mtr-001"], ca_file=broker.ca_file)
    own = [PARK_TOPIC.replace("telemetry", channel) for channel in ("telemetry", "status",
                                                                     "event")]
    try:
        assert device.accepted
        collector.subscribe("#")
        assert [device.publish(topic, b"own").is_failure for topic in own] == [False] * 3
        for topic in ("refpark/bac-ninh/energy/meter/mtr-002/telemetry",  # another device
                      "refpark/bac-ninh/energy/meter/mtr-001",  # not a channel of its own
                      "refpark/bac-ninh/energy/meter/mtr-001/telemetry/x",
                      "mtr-001/telemetry", "$SYS/x"):
            assert device.publish(topic, b"forged").getName() == "Not authorized", topic
        device.subscribe("refpark/#")  # devices read nothing
        collector.publish(PARK_TOPIC, b"refused anyway")
        _settle()
    finally:
        device.close()
        collector.close()
    assert collector.got == [(topic, b"own") for topic in own]
    assert device.got == []


def test_device_and_stack_users_stay_on_their_own_listeners(broker: SecureMosquitto) -> None:
    """Devices log in only on the device port, the collector and simulator never there."""
    for port, user, password, tls in (
            (broker.device_port, "collector", USERS["collector"], True),
            (broker.device_port, "simulator", USERS["simulator"], True),
            (broker.device_port, "mtr-001", "wrong", True),
            (broker.device_port, None, None, True),
            (broker.port, "mtr-001", DEVICES["mtr-001"], False),
            (broker.tls_port, "mtr-001", DEVICES["mtr-001"], True)):
        client = Client(port, user, password, ca_file=broker.ca_file if tls else None)
        assert not client.accepted, (port, user)
        client.close()
    # Every device of both files can log in (the entrypoint joined them, last lines too).
    for name, password in DEVICES.items():
        client = Client(broker.device_port, name, password, ca_file=broker.ca_file)
        assert client.accepted, name
        client.close()


def test_the_entrypoint_refuses_to_start_without_a_stack_password(tmp_path: Path) -> None:
    """An empty MQTT_SIMULATOR_PASSWORD stops the container with a message naming it."""
    (tmp_path / "auth").mkdir()
    done = subprocess.run(
        ["/bin/sh", str(DEPLOY_MOSQUITTO / "entrypoint.sh")], capture_output=True, text=True,
        check=False, env={"PATH": "/usr/bin:/bin", "MOSQUITTO_ROOT": str(tmp_path),
                          "MOSQUITTO_EXEC": "/bin/true", "MQTT_COLLECTOR_PASSWORD": "x"})
    assert done.returncode == 1
    assert "'simulator' is empty" in done.stderr


def _source_config(port: int, password: str) -> CollectorConfig:
    return CollectorConfig(mqtt_port=port, client_id="secure-collector",
                           topic="$share/collectors/+/+/+/+/+/+", mqtt_username="collector",
                           mqtt_password=password).validate()


async def test_the_collector_source_logs_in_over_tls_in_a_shared_subscription(
        broker: SecureMosquitto) -> None:
    """MqttSource with the collector's login, TLS and a $share filter gets the park's data."""
    config = _source_config(broker.tls_port, USERS["collector"])
    source = MqttSource(config, tls_context=tls_context(str(broker.ca_file)))
    got: list[str] = []
    await source.start(lambda topic, _payload, _mid, _qos: got.append(topic))
    try:
        simulator = await asyncio.to_thread(Client, broker.port, "simulator",
                                            USERS["simulator"])
        for _ in range(3):
            await asyncio.to_thread(simulator.publish, PARK_TOPIC, b"{}")
        simulator.close()
        end = asyncio.get_running_loop().time() + 10
        while len(got) < 3:
            assert asyncio.get_running_loop().time() < end, got
            await asyncio.sleep(0.02)
    finally:
        await source.close()
    assert got == [PARK_TOPIC] * 3


async def test_the_collector_source_reports_a_refused_login(broker: SecureMosquitto) -> None:
    """A wrong collector password stops start-up with an error that says it was refused."""
    source = MqttSource(_source_config(broker.port, "wrong"))
    with pytest.raises(MqttConnectError, match="refused the connection"):
        await source.start(lambda *_: None)
    await source.close()


def test_every_shipped_config_states_max_queued_messages() -> None:
    """Each mosquitto config in deploy/ sets the queue limit (mosquitto's default drops)."""
    configs = sorted(DEPLOY_MOSQUITTO.glob("*.conf"))
    assert configs
    for path in configs:
        keys = {line.split()[0] for line in path.read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")}
        assert "max_queued_messages" in keys, path


def test_tls_context_checks_names_and_can_carry_a_client_certificate(
        broker: SecureMosquitto) -> None:
    """tls_context verifies the broker (CA and host name) and loads a client certificate."""
    certs = broker.ca_file.parent
    context = tls_context(str(broker.ca_file), str(certs / "server.crt"),
                          str(certs / "server.key"))
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    with socket.create_connection(("127.0.0.1", broker.tls_port), 5) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as tls:
        assert tls.version() in {"TLSv1.2", "TLSv1.3"}


async def test_smartpark_collect_settings_reach_the_tls_listener_with_a_password_file(
        broker: SecureMosquitto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The collector logs in over TLS with a CA file and a password file, and stores data."""
    secret = tmp_path / "mqtt-password"
    secret.write_text(USERS["collector"] + "\n")
    monkeypatch.setenv("SMARTPARK_MQTT_PASSWORD_FILE", str(secret))
    config = load_config(None, overrides={
        "mqtt_port": broker.tls_port, "mqtt_ca_file": str(broker.ca_file),
        "mqtt_username": "collector", "client_id": "tls-collector",
        "db_path": tmp_path / "park.duckdb", "dead_letter_path": tmp_path / "dead.jsonl",
        "buffer_dir": tmp_path / "buffer", "batch_interval_s": 0.1})
    assert config.uses_tls
    assert "collector-test-secret" not in repr(config)
    topic = Topic("refpark", "bac-ninh", Domain.ENERGY, "meter", "mtr-t001", Channel.TELEMETRY)
    payload = encode(Telemetry(topic, 1_772_410_500_000, 0, {"p_kw": 812.4}))
    stop = asyncio.Event()
    async with Collector(config) as collector:
        task = asyncio.create_task(collector.run(stop))
        for _ in range(500):
            if collector.stats().connected:
                break
            await asyncio.sleep(0.02)
        simulator = Client(broker.tls_port, "simulator", USERS["simulator"],
                           ca_file=broker.ca_file)
        assert not simulator.publish(str(topic), payload).is_failure
        simulator.close()
        for _ in range(500):
            if collector.stats().written >= 1:
                break
            await asyncio.sleep(0.02)
        stop.set()
        await task
    with EmbeddedStore(config.db_path, read_only=True) as store:
        assert store.count_by_device() == {"mtr-t001": (1, 0, 0, 1)}


async def test_leave_logs_in_over_tls_given_only_a_ca_file(broker: SecureMosquitto,
                                                           tmp_path: Path) -> None:
    """`collect --leave` with --ca-file alone uses TLS (a CA file implies it), as collect does."""
    config = dataclasses.replace(
        _source_config(broker.tls_port, USERS["collector"]), mqtt_ca_file=str(broker.ca_file),
        client_id="retiring-over-tls", db_path=tmp_path / "p.duckdb",
        dead_letter_path=tmp_path / "dead.jsonl", buffer_dir=tmp_path / "buffer",
        stats_interval_s=0).validate()
    assert not config.mqtt_tls  # only implied
    result = await leave_group(config, quiet_s=0.3)
    assert result.ended
