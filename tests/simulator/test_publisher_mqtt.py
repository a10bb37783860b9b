"""The MQTT client and the gateway publisher against a real mosquitto (plain, TLS, login)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from simulator.mqtt import ConnectOptions, MqttConnection, MqttError, TlsOptions
from simulator.mqtt.client import Pending
from simulator.publisher import GatewayPublisher, PublisherSettings
from tests.servers import Mosquitto, require_binary
from tests.simulator.fakes_runner import fake_status

pytestmark = pytest.mark.integration

#: Throwaway credentials of the test broker.
USER, PASSWORD, WRONG = "sim", "pw1", "nope"


class Subscriber:
    """mosquitto_sub counting *count* messages on *topic*; payloads land in a file."""

    def __init__(self, port: int, topic: str, count: int, tmp: Path, *,
                 extra: tuple[str, ...] = ()) -> None:
        self.path = tmp / f"sub-{port}-{count}.txt"
        with self.path.open("wb") as sink:
            self.proc = subprocess.Popen(
                [require_binary("mosquitto_sub"), "-p", str(port), "-t", topic, "-q", "1",
                 "-C", str(count), "-v", *extra], stdout=sink)

    async def ready(self, port: int) -> None:
        """Give the subscription time to register (mosquitto_sub has no ready signal)."""
        await asyncio.sleep(0.3)

    async def wait(self) -> list[tuple[str, bytes]]:
        """Wait (up to 60 s) for the count and return (topic, payload) pairs."""
        await asyncio.to_thread(self.proc.wait, 60)
        lines = self.path.read_bytes().splitlines()
        return [(t.decode(), p) for t, _, p in (line.partition(b" ") for line in lines)]

    def close(self) -> None:
        """Stop the process if it is still running."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def subscribers() -> Iterator[list[Subscriber]]:
    """Subscribers started by a test, all stopped afterwards."""
    started: list[Subscriber] = []
    yield started
    for sub in started:
        sub.close()


def _retained(port: int, topic: str, count: int) -> dict[str, str]:
    out = subprocess.run(
        [require_binary("mosquitto_sub"), "-p", str(port), "-t", topic, "-v",
         "--retained-only", "-C", str(count), "-W", "5"],
        capture_output=True, check=True, timeout=10).stdout
    return {t.decode(): orjson.loads(p)["state"]
            for t, _, p in (line.partition(b" ") for line in out.splitlines())}


class BoundCheckingConnection(MqttConnection):
    """Records the most messages ever awaiting acknowledgement."""

    peak = 0

    def _register(self, pending: Pending) -> bytes:
        raw = super()._register(pending)
        BoundCheckingConnection.peak = max(BoundCheckingConnection.peak, self.inflight)
        return raw


@pytest.mark.slow
async def test_qos1_bound_holds_and_nothing_is_lost(
        mosquitto: Mosquitto, tmp_path: Path, subscribers: list[Subscriber]) -> None:
    """120k QoS 1 messages with max_inflight 500: never more than 500 unacked, all arrive."""
    total = 120_000
    sub = Subscriber(mosquitto.port, "load/#", total, tmp_path)
    subscribers.append(sub)
    await sub.ready(mosquitto.port)
    conn = await BoundCheckingConnection.open(
        ConnectOptions(port=mosquitto.port, max_inflight=500, client_id="bound"))
    assert conn.max_inflight == 500
    msgs = [(f"load/d{i % 50}".encode(), b'{"seq":%d}' % i) for i in range(total)]
    for start in range(0, total, 10_000):
        await conn.publish_many(msgs[start:start + 10_000], qos=1)
    await conn.wait_all_acked()
    await conn.disconnect()
    received = await sub.wait()
    seqs = {orjson.loads(p)["seq"] for _, p in received}
    assert BoundCheckingConnection.peak == 500
    assert conn.acked == total
    assert seqs == set(range(total))


@pytest.mark.parametrize(("qos", "protocol"), [(0, 4), (0, 5), (1, 5), (2, 4), (2, 5)])
async def test_every_qos_and_protocol_delivers_in_order(
        mosquitto: Mosquitto, tmp_path: Path, subscribers: list[Subscriber],
        qos: int, protocol: int) -> None:
    """QoS 0/1/2 over MQTT 3.1.1 and 5 deliver every message, in order."""
    total = 3_000
    sub = Subscriber(mosquitto.port, "q/#", total, tmp_path)
    subscribers.append(sub)
    await sub.ready(mosquitto.port)
    conn = await MqttConnection.open(ConnectOptions(port=mosquitto.port, protocol=protocol,
                                                    max_inflight=100, keepalive=5))
    await conn.publish_many([(b"q/a", b"%d" % i) for i in range(total - 1)], qos)
    await conn.publish("q/last", b"%d" % (total - 1), qos)
    await conn.wait_all_acked()
    await conn.disconnect()
    assert not conn.is_open
    received = await sub.wait()
    assert [int(p) for _, p in received] == list(range(total))
    assert conn.acked == (total if qos else 0)


async def test_unreachable_broker_is_a_clear_error() -> None:
    """Connecting to a closed port raises MqttError naming the broker."""
    from tests.servers import free_port

    port = free_port()
    with pytest.raises(MqttError, match=f"127.0.0.1:{port}"):
        await MqttConnection.open(ConnectOptions(port=port, connect_timeout=2))


def test_options_validate_and_hide_the_password() -> None:
    """Bad inflight bounds and protocol levels are refused; repr never shows the password."""
    with pytest.raises(ValueError, match="max_inflight"):
        ConnectOptions(max_inflight=70_000)
    with pytest.raises(ValueError, match="protocol"):
        ConnectOptions(protocol=3)
    assert PASSWORD not in repr(ConnectOptions(password=PASSWORD))


async def test_gateway_statuses_and_last_will(mosquitto: Mosquitto) -> None:
    """Online statuses on start, offline on clean close, and the will on a dead connection."""
    port = mosquitto.port
    devices = [f"gw/site/dev{i}/status" for i in range(3)]
    settings = PublisherSettings(ConnectOptions(port=port, client_id="gw-test"), qos=1)
    pub = GatewayPublisher(settings, "gw/site/gateway/status", devices,
                           status_payload=fake_status, now_ms=lambda: 1000)
    await pub.start()
    await pub.publish([("gw/site/dev0/telemetry", b"{}")] * 10)
    assert set(_retained(port, "gw/#", 4).values()) == {"online"}
    await pub.close()
    assert pub.published == 10
    assert pub.failed == 0
    assert set(_retained(port, "gw/#", 4).values()) == {"offline"}

    second = GatewayPublisher(settings, "gw/site/gateway/status", devices,
                              status_payload=fake_status, now_ms=lambda: 2000)
    await second.start()
    assert _retained(port, "gw/site/gateway/status", 1) == {"gw/site/gateway/status": "online"}
    second.abort()  # no DISCONNECT: the broker publishes the will
    await asyncio.sleep(0.3)
    assert _retained(port, "gw/site/gateway/status", 1) == {
        "gw/site/gateway/status": "offline"}
    await second.close()


async def test_publisher_reconnects_and_counts_everything(mosquitto: Mosquitto) -> None:
    """After the broker is killed and restarted, QoS 1 publishing resumes with no loss counted."""
    settings = PublisherSettings(ConnectOptions(port=mosquitto.port, keepalive=2),
                                 qos=1, reconnect_min_s=0.05, give_up_after_s=20)
    pub = GatewayPublisher(settings, "r/gateway/status", [], status_payload=fake_status,
                           now_ms=lambda: 0)
    await pub.start()
    await pub.publish([("r/t", b"%d" % i) for i in range(1000)])
    await asyncio.to_thread(mosquitto.kill)
    for _ in range(500):  # let the loss be noticed before publishing more
        if not pub.connected:
            break
        await asyncio.sleep(0.01)
    restart = asyncio.create_task(asyncio.to_thread(mosquitto.start))
    await pub.publish([("r/t", b"%d" % i) for i in range(1000, 2000)])
    await restart
    await pub.close()
    assert pub.reconnects >= 1
    assert pub.published + pub.failed == 2000
    assert pub.failed == 0


async def test_publisher_gives_up_and_counts_failures(mosquitto: Mosquitto) -> None:
    """With the broker gone for good, publishing raises and unacked messages count as failed."""
    settings = PublisherSettings(ConnectOptions(port=mosquitto.port, connect_timeout=1),
                                 qos=1, reconnect_min_s=0.05, give_up_after_s=0.5)
    pub = GatewayPublisher(settings, "x/gateway/status", [], status_payload=fake_status,
                           now_ms=lambda: 0)
    await pub.start()
    mosquitto.kill()
    async def keep_publishing() -> None:
        for _ in range(50):
            await pub.publish([("x/t", b"1")] * 100)
            await asyncio.sleep(0.01)

    with pytest.raises(MqttError, match="gave up"):
        await keep_publishing()
    await pub.close()
    assert pub.published + pub.failed <= 5000
    assert not pub.connected


def _make_certs(tmp: Path) -> dict[str, Path]:
    """A CA and a server certificate for 127.0.0.1, made with the openssl CLI."""
    openssl = require_binary("openssl")
    files = {name: tmp / f"{name}.pem" for name in ("ca", "ca-key", "server", "server-key")}
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=smartpark test CA", "-keyout", files["ca-key"],
                    "-out", files["ca"]], check=True, capture_output=True)
    csr = tmp / "server.csr"
    subprocess.run([openssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                    "-keyout", files["server-key"], "-out", csr], check=True, capture_output=True)
    ext = tmp / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    subprocess.run([openssl, "x509", "-req", "-in", csr, "-CA", files["ca"], "-CAkey",
                    files["ca-key"], "-CAcreateserial", "-days", "2", "-extfile", ext,
                    "-out", files["server"]], check=True, capture_output=True)
    return files


async def test_tls_with_password_login(tmp_path: Path, subscribers: list[Subscriber]) -> None:
    """TLS (own CA) with a user/password file: right login works, wrong one is refused."""
    certs = _make_certs(tmp_path)
    passwd = tmp_path / "passwd"
    tool = await asyncio.create_subprocess_exec(
        require_binary("mosquitto_passwd"), "-c", "-b", str(passwd), USER, PASSWORD)
    assert await tool.wait() == 0
    from tests.servers import free_port

    tls_port = free_port()
    extra = (f"listener {tls_port} 127.0.0.1\n"
             f"cafile {certs['ca']}\ncertfile {certs['server']}\nkeyfile {certs['server-key']}\n"
             f"allow_anonymous false\npassword_file {passwd}\n")
    with Mosquitto(tmp_path / "m", extra_config=extra) as broker:
        tls = TlsOptions(ca_file=str(certs["ca"]))
        good = ConnectOptions(port=tls_port, tls=tls, username=USER, password=PASSWORD)
        conn = await MqttConnection.open(good)
        await conn.publish("s/t", b"hello", qos=1)
        await conn.wait_all_acked()
        await conn.disconnect()
        assert conn.acked == 1
        with pytest.raises(MqttError, match=r"bad user name or password|not authorised"):
            await MqttConnection.open(
                ConnectOptions(port=tls_port, tls=tls, username=USER, password=WRONG))
        with pytest.raises(MqttError, match="cannot connect"):
            await MqttConnection.open(ConnectOptions(port=tls_port, tls=TlsOptions()))
        insecure = await MqttConnection.open(ConnectOptions(
            port=tls_port, tls=TlsOptions(insecure=True), username=USER, password=PASSWORD,
            protocol=5))
        await insecure.disconnect()
        assert broker.port != tls_port


async def test_keepalive_pings_keep_an_idle_connection_open(mosquitto: Mosquitto) -> None:
    """With keepalive 1 s, an idle connection survives several keep-alive periods."""
    conn = await MqttConnection.open(ConnectOptions(port=mosquitto.port, keepalive=1))
    await asyncio.sleep(2.2)
    assert conn.is_open
    await conn.publish("k/t", b"1", qos=1)
    await conn.wait_all_acked()
    await conn.disconnect()
    with pytest.raises(MqttError, match="closed"):
        await conn.publish("k/t", b"2")


async def test_qos0_publishing_resumes_after_a_broker_restart(mosquitto: Mosquitto) -> None:
    """At QoS 0 a step published while the broker is down goes out after reconnecting."""
    settings = PublisherSettings(ConnectOptions(port=mosquitto.port), reconnect_min_s=0.05)
    pub = GatewayPublisher(settings, "z/gateway/status", ["z/d/status"],
                           status_payload=fake_status, now_ms=lambda: 0)
    await pub.start()
    await asyncio.to_thread(mosquitto.kill)
    for _ in range(500):
        if not pub.connected:
            break
        await asyncio.sleep(0.01)
    restart = asyncio.create_task(asyncio.to_thread(mosquitto.start))
    await pub.publish([("z/t", b"x")] * 10)
    await restart
    assert pub.reconnects == 1
    assert pub.published == 10
    await pub.close()


async def test_stop_while_waiting_for_the_broker(mosquitto: Mosquitto) -> None:
    """A stop request ends the reconnect wait at once and counts unacked messages as failed."""
    from simulator.publisher import PublisherStopped

    stop = asyncio.Event()
    settings = PublisherSettings(ConnectOptions(port=mosquitto.port, connect_timeout=1),
                                 qos=1, reconnect_min_s=5, give_up_after_s=60)
    pub = GatewayPublisher(settings, "s/gateway/status", [], status_payload=fake_status,
                           now_ms=lambda: 0, stop=stop)
    await pub.start()
    await pub.publish([("s/t", b"0")] * 10)
    mosquitto.kill()
    for _ in range(500):
        if not pub.connected:
            break
        await asyncio.sleep(0.01)
    asyncio.get_running_loop().call_later(0.3, stop.set)
    with pytest.raises(PublisherStopped):
        await pub.publish([("s/t", b"1")] * 10)
    await pub.close()
    assert pub.published + pub.failed == 20


def test_publisher_settings_validate_qos() -> None:
    """A QoS other than 0, 1 or 2 is refused with the allowed values."""
    with pytest.raises(ValueError, match="0, 1 or 2"):
        PublisherSettings(qos=3)


def _qos_subscriber(port: int, topic: str, out: Path) -> subprocess.Popen[bytes]:
    """mosquitto_sub at QoS 1 printing "<qos> <topic>" for the next two messages."""
    with out.open("wb") as sink:
        return subprocess.Popen([require_binary("mosquitto_sub"), "-p", str(port), "-t", topic,
                                 "-q", "1", "-C", "2", "-F", "%q %t"], stdout=sink)


async def test_events_go_at_qos_1_when_telemetry_goes_at_qos_0(mosquitto: Mosquitto,
                                                             tmp_path: Path) -> None:
    """At --qos 0 a reading may be dropped, an event may not: events are sent at QoS 1."""
    out = tmp_path / "qos.txt"
    proc = _qos_subscriber(mosquitto.port, "q/a/#", out)
    try:
        await asyncio.sleep(0.3)
        settings = PublisherSettings(ConnectOptions(port=mosquitto.port), qos=0)
        pub = GatewayPublisher(settings, "q/gateway/status", [], status_payload=fake_status,
                               now_ms=lambda: 0)
        await pub.start()
        await pub.publish([("q/a/telemetry", b"{}"), ("q/a/event", b"{}")])
        await pub.close()
        await asyncio.to_thread(proc.wait, 30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert sorted(out.read_text().split("\n")[:2]) == ["0 q/a/telemetry", "1 q/a/event"]
    assert pub.published == 2
