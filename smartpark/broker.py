"""An MQTT broker the demo starts for itself, so that it needs no server installed.

Two implementations, chosen by :func:`choose_broker`:

* ``mosquitto``: the real C broker, when its binary is on the machine (about a hundred times
  faster than a Python broker); started as a child process with an explicit config.
* ``amqtt``: a pure-Python broker from PyPI, installed with smartpark, run in a child process
  of its own so that it does not compete with the simulator and collector for the GIL. It
  sustains roughly 850 QoS 1 messages/s on a 2-core machine, which is twice what the demo's
  reference park sends at 60x speed. Its session queues have no size limit, so it never drops
  a message for a slow subscriber; the demo's bounded duration bounds its memory.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

#: Settings every mosquitto config smartpark writes states explicitly. Mosquitto's default
#: ``max_queued_messages 1000`` silently drops messages for a slow subscriber; the collector
#: acknowledges in batches, so the in-flight limit must not be mosquitto's default of 20.
MOSQUITTO_LIMITS = """\
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 0
message_size_limit 0
set_tcp_nodelay true
"""

BrokerKind = Literal["mosquitto", "amqtt"]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mosquitto_binary() -> str | None:
    """Return the path of the mosquitto broker binary, or ``None`` when it is not installed."""
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


def choose_broker(preference: str = "auto") -> BrokerKind:
    """Resolve ``auto``/``mosquitto``/``amqtt`` to the broker the demo will start.

    Raises:
        ValueError: ``mosquitto`` was asked for but is not installed, or the name is unknown.
    """
    if preference == "auto":
        return "mosquitto" if mosquitto_binary() else "amqtt"
    if preference == "mosquitto":
        if mosquitto_binary() is None:
            msg = ("--embedded-broker mosquitto: the mosquitto binary is not installed "
                   "(Debian: apt-get install mosquitto); use 'amqtt' or 'auto'")
            raise ValueError(msg)
        return "mosquitto"
    if preference == "amqtt":
        return "amqtt"
    msg = f"unknown embedded broker {preference!r}; expected auto, mosquitto or amqtt"
    raise ValueError(msg)


class EmbeddedBroker:
    """A broker in a child process on 127.0.0.1, started and stopped with the demo.

    Use as a context manager; ``port`` is where it listens once started.
    """

    def __init__(self, kind: BrokerKind, port: int | None = None,
                 workdir: Path | None = None) -> None:
        self.kind: BrokerKind = kind
        self.port = port if port is not None else free_port()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def mqtt_version(self) -> Literal["3.1.1", "5"]:
        """The newest MQTT version the broker speaks (amqtt has no MQTT 5)."""
        return "5" if self.kind == "mosquitto" else "3.1.1"

    def _command(self, workdir: Path) -> list[str]:
        if self.kind == "mosquitto":
            binary = mosquitto_binary()
            assert binary is not None  # choose_broker checked it
            conf = workdir / "mosquitto.conf"
            conf.write_text(
                f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                f"{MOSQUITTO_LIMITS}"
            )
            return [binary, "-c", str(conf)]
        return [sys.executable, "-m", "smartpark.amqtt_server", "--port", str(self.port)]

    def start(self, timeout: float = 20.0) -> Self:
        """Start the broker and wait until it accepts connections."""
        if self._workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="smartpark-broker-")
            workdir = Path(self._tmp.name)
        else:
            workdir = self._workdir
            workdir.mkdir(parents=True, exist_ok=True)
        log = (workdir / "broker.log").open("ab")
        self._process = subprocess.Popen(self._command(workdir), stdout=log,
                                         stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                text = (workdir / "broker.log").read_text(errors="replace")[-2000:]
                msg = f"the embedded {self.kind} broker exited at start-up:\n{text}"
                raise RuntimeError(msg)
            with contextlib.suppress(OSError), socket.create_connection(
                ("127.0.0.1", self.port), 0.2
            ):
                return self
            time.sleep(0.05)
        self.stop()
        msg = f"the embedded {self.kind} broker did not listen on port {self.port} in {timeout} s"
        raise TimeoutError(msg)

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after 5 s) and remove its directory."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
