"""Real servers for integration tests: Mosquitto and VictoriaMetrics on free loopback ports.

Each server is a child process with its own temporary directory; ``stop()`` (or leaving the
``with`` block) terminates it and waits, so no test leaves a process behind.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from smartpark.broker import MOSQUITTO_LIMITS, free_port

__all__ = [
    "DEPLOY_MOSQUITTO", "MOSQUITTO_LIMITS", "Mosquitto", "SecureMosquitto", "VictoriaMetrics",
    "free_port", "mqtt_round_trip", "peak_rss_kib", "wait_for_port",
]


def mqtt_round_trip(port: int,
                    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311,
                    payload: bytes = b"hello", timeout: float = 10.0) -> list[bytes]:
    """Publish one QoS 1 message through the broker on *port*; return what a subscriber got."""
    got: list[bytes] = []
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=protocol)
    sub.on_message = lambda _c, _u, msg: got.append(bytes(msg.payload))
    sub.connect("127.0.0.1", port)
    sub.subscribe("roundtrip/#", qos=1)
    sub.loop_start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=protocol)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    time.sleep(0.3)  # let the subscription reach the broker before publishing
    pub.publish("roundtrip/x", payload, qos=1).wait_for_publish(timeout)
    deadline = time.monotonic() + timeout
    while not got and time.monotonic() < deadline:
        time.sleep(0.02)
    for client in (pub, sub):
        client.loop_stop()
        client.disconnect()
    return got


def wait_for_port(
    port: int, timeout: float = 10.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until something accepts TCP connections on 127.0.0.1:*port*."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            msg = f"server exited with code {process.returncode} before opening port {port}"
            raise RuntimeError(msg)
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    msg = f"nothing listens on 127.0.0.1:{port} after {timeout} s"
    raise TimeoutError(msg)

def require_binary(name: str) -> str:
    """Return the path of *name*, failing with an actionable message if it is not installed."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        msg = (f"{name} is not installed; `make test` installs it "
               "(Debian: apt-get install mosquitto victoria-metrics)")
        raise RuntimeError(msg)
    return path

@dataclass
class _Server:
    """Common lifecycle of a child-process server."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """Return the argv that starts the server."""
        raise NotImplementedError

    def start(self) -> Self:
        """Start the server and wait until it accepts connections."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "server.log").open("ab")
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for_port(self.port, process=self.process)
        return self

    def stop(self) -> None:
        """Terminate the server and wait for it to exit (kill after 10 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """Kill the server with SIGKILL (for fault tests) and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self, *, hard: bool = False) -> Self:
        """Stop (SIGTERM, or SIGKILL when *hard*), then start again on the same port and data.

        A broker stopped with SIGTERM saves its persistence file first; one killed with
        SIGKILL comes back with what its last autosave held.
        """
        if hard:
            self.kill()
        else:
            self.stop()
        return self.start()

    @property
    def pid(self) -> int:
        """Process id of the running server."""
        if self.process is None or self.process.poll() is not None:
            msg = "the server is not running"
            raise RuntimeError(msg)
        return self.process.pid

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

@dataclass
class Mosquitto(_Server):
    """A mosquitto broker on 127.0.0.1 with persistence in *workdir* and explicit limits.

    Sessions and queued messages are saved to :attr:`persistence_file` every second and on a
    SIGTERM, so :meth:`restart` keeps them; ``restart(hard=True)`` kills it with SIGKILL.

    Args:
        extra_config: lines appended to the generated config.
        config: when set, the whole config instead of the generated one (it must listen on
            :attr:`port` and set ``max_queued_messages`` itself).
    """

    extra_config: str = ""
    config: str = ""

    @property
    def persistence_file(self) -> Path:
        """Where mosquitto saves sessions and queued messages."""
        return self.workdir / "mosquitto.db"

    def command(self) -> list[str]:
        """Write the config file and return mosquitto's argv."""
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self.config or (
            f"listener {self.port} 127.0.0.1\n"
            # Started as root, mosquitto would switch to the `mosquitto` user, which cannot
            # write its persistence file into pytest's private temporary directory.
            f"user {getpass.getuser()}\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.workdir}/\n"
            "autosave_interval 1\n"
            f"{MOSQUITTO_LIMITS}{self.extra_config}"
        ))
        return [require_binary("mosquitto"), "-c", str(conf)]

#: The broker configuration shipped for docker-compose.
DEPLOY_MOSQUITTO = Path(__file__).resolve().parent.parent / "deploy" / "mosquitto"


@dataclass
class SecureMosquitto(Mosquitto):
    """mosquitto running the shipped ``deploy/mosquitto`` config: users, ACLs, TLS.

    Container paths are moved into *workdir* and the four listeners onto free loopback
    ports: :attr:`port` (plain, authenticated), :attr:`tls_port` (TLS, authenticated),
    :attr:`device_port` (TLS, device users) and :attr:`local_port` (anonymous, ``$SYS``
    only). The password files are built by the shipped ``entrypoint.sh`` itself, from
    *users* (the ``collector`` and ``simulator`` passwords, as compose passes them) and from
    the device files made with ``mosquitto_passwd`` out of *devices*; the certificates by
    ``deploy/mosquitto/make-certs.sh``, as the container does.
    """

    users: dict[str, str] = field(default_factory=dict)
    devices: dict[str, str] = field(default_factory=dict)
    tls_port: int = field(default_factory=free_port)
    device_port: int = field(default_factory=free_port)
    local_port: int = field(default_factory=free_port)

    @property
    def ca_file(self) -> Path:
        """The CA certificate clients trust."""
        return self.workdir / "certs" / "ca.crt"

    def command(self) -> list[str]:
        """Build password files and certificates once, write the config, return the argv."""
        auth = self.workdir / "auth"
        certs = self.workdir / "certs"
        if not (auth / "passwd").exists():
            self._build_passwords()
            subprocess.run(["/bin/sh", str(DEPLOY_MOSQUITTO / "make-certs.sh")], check=True,
                           capture_output=True, env={"PATH": "/usr/bin:/bin",
                                                     "SMARTPARK_CERT_DIR": str(certs)})
        text = (DEPLOY_MOSQUITTO / "mosquitto.conf").read_text()
        for old, new in (("/mosquitto/auth/", f"{auth}/"), ("/mosquitto/certs/", f"{certs}/"),
                         ("/mosquitto/data/", f"{self.workdir}/"),
                         ("/mosquitto/config/", f"{DEPLOY_MOSQUITTO}/"),
                         ("listener 1883 0.0.0.0", f"listener {self.port} 127.0.0.1"),
                         ("listener 8883 0.0.0.0", f"listener {self.tls_port} 127.0.0.1"),
                         ("listener 8884 0.0.0.0", f"listener {self.device_port} 127.0.0.1"),
                         ("listener 1880 127.0.0.1", f"listener {self.local_port} 127.0.0.1")):
            assert old in text, old
            text = text.replace(old, new)
        # Started as root, mosquitto would switch to the `mosquitto` user (see Mosquitto).
        self.config = f"{text}\nuser {getpass.getuser()}\n"
        return super().command()

    def _build_passwords(self) -> None:
        """Run the shipped entrypoint with the broker itself replaced by ``true``."""
        unknown = set(self.users) - {"collector", "simulator"}
        assert not unknown, f"the entrypoint knows only collector and simulator, not {unknown}"
        (self.workdir / "auth").mkdir(parents=True, exist_ok=True)
        fleet = self.workdir / "devices"
        fleet.mkdir(exist_ok=True)
        if self.devices:
            # Two files, as an operator may keep them: the entrypoint joins every *.passwd.
            names = sorted(self.devices)
            for index, name in enumerate(names):
                path = fleet / f"group{index % 2}.passwd"
                path.touch()
                subprocess.run([require_binary("mosquitto_passwd"), "-b", str(path), name,
                                self.devices[name]], check=True, capture_output=True)
            last = fleet / "group0.passwd"
            last.write_text(last.read_text().rstrip("\n"))  # a file without a final newline
        subprocess.run(
            ["/bin/sh", str(DEPLOY_MOSQUITTO / "entrypoint.sh")], check=True,
            capture_output=True,
            env={"PATH": "/usr/bin:/bin:/usr/sbin", "MOSQUITTO_ROOT": str(self.workdir),
                 "MOSQUITTO_EXEC": "/bin/true",
                 "MQTT_COLLECTOR_PASSWORD": self.users.get("collector", ""),
                 "MQTT_SIMULATOR_PASSWORD": self.users.get("simulator", "")})


@dataclass
class VictoriaMetrics(_Server):
    """A victoria-metrics single node on 127.0.0.1, storing in *workdir*.

    It accepts InfluxDB line protocol on ``/api/v2/write`` (what influxdb-client sends) and
    returns what it stored on ``/api/v1/export``. A measurement ``m`` with field ``f`` is
    stored as the metric ``m_f``, with the tags as labels.

    Started with ``-dedup.minScrapeInterval=1ms``: a point written again with the same series
    and timestamp is stored once, as InfluxDB overwrites it, so a redelivered message cannot
    show up twice in :meth:`export` (checked on 1.79.5). :meth:`export_raw` shows each write.
    """

    def command(self) -> list[str]:
        """Return victoria-metrics' argv."""
        return [
            require_binary("victoria-metrics"),
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.workdir / 'data'}",
            # Backfilled data is from the past; keep everything the tests write.
            "-retentionPeriod=100y",
            "-loggerLevel=WARN",
            # Same series and timestamp = one point (InfluxDB semantics); see the class doc.
            "-dedup.minScrapeInterval=1ms",
        ]

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Start and wait until the HTTP API answers."""
        super().start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(f"{self.url}/health", timeout=1) as resp,  # noqa: S310
            ):
                if resp.status == 200:
                    return self
            time.sleep(0.05)
        msg = "victoria-metrics did not become healthy in 10 s"
        raise TimeoutError(msg)

    def flush(self) -> None:
        """Make everything written so far visible to queries."""
        with urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=10):  # noqa: S310
            pass

    def export(self, match: str = '{__name__!=""}') -> list[dict[str, Any]]:
        """Return every stored series matching *match* as export JSON objects.

        Each object has ``metric`` (name and labels), ``values`` and ``timestamps`` (ms).
        """
        return self._export({"match[]": match})

    def export_raw(self, match: str = '{__name__!=""}') -> list[dict[str, Any]]:
        """Like :meth:`export`, but before deduplication: a point written twice shows twice.

        Background merges deduplicate on disk too, so this is a lower bound of the writes.
        Use it to count writes only: on 1.79.5 it was seen pairing a block's values with
        another block's timestamps.
        """
        return self._export({"match[]": match, "reduce_mem_usage": "1"})

    def _export(self, params: dict[str, str]) -> list[dict[str, Any]]:
        self.flush()
        url = f"{self.url}/api/v1/export?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310
            return [json.loads(line) for line in resp.read().splitlines() if line.strip()]


def peak_rss_kib(pid: int) -> int:
    """Return the peak resident memory (VmHWM) of process *pid* in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    msg = f"/proc/{pid}/status has no VmHWM line"
    raise RuntimeError(msg)
