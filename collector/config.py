"""Collector configuration: a TOML file, then the environment, then command-line flags.

Later sources win. Everything is validated once at start-up; a problem raises
:class:`ConfigError` naming the setting, the value and what was expected. The sink follows
from the settings: InfluxDB when an Influx URL is configured, else the embedded DuckDB file.

TOML layout (every key optional)::

    [mqtt]
    host = "127.0.0.1"        port = 1883          protocol = "5"   # or "3.1.1"
    client_id = "smartpark-collector"   topic = "refpark/+/+/+/+/+"
    session_expiry_s = 86400  receive_maximum = 20000  keepalive_s = 30
    username = ""             password = ""
    [batch]
    size = 5000               interval_s = 1.0     max_pending = 20000
    [retry]
    initial_s = 0.5           max_s = 30.0
    [influx]
    url = ""  org = ""  bucket = ""  token = ""  token_file = ""  timeout_s = 30.0
    [embedded]
    path = "./smartpark-data/park.duckdb"
    [dead_letter]
    path = "./smartpark-data/dead-letter.jsonl"  max_bytes = 67108864  backups = 3
    [buffer]                  # the on-disk outage buffer (collector/buffer.py)
    dir = "./smartpark-data/buffer"  max_bytes = "1GiB"  overflow = "block"  # or "drop_oldest"
    [shutdown]
    drain_timeout_s = 10.0
    [observability]
    host = "127.0.0.1"        port = 0             # 0 = no /metrics, /health server
    stats_interval_s = 10.0   # the `collector` measurement; 0 = not written
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from parkwire import subscription

#: TOML ``section.key`` -> CollectorConfig field.
TOML_KEYS: Mapping[str, str] = {
    "mqtt.host": "mqtt_host", "mqtt.port": "mqtt_port", "mqtt.protocol": "mqtt_protocol",
    "mqtt.client_id": "client_id", "mqtt.topic": "topic",
    "mqtt.session_expiry_s": "session_expiry_s", "mqtt.receive_maximum": "receive_maximum",
    "mqtt.keepalive_s": "keepalive_s", "mqtt.username": "mqtt_username",
    "mqtt.password": "mqtt_password", "mqtt.password_file": "mqtt_password_file",
    "mqtt.tls": "mqtt_tls", "mqtt.ca_file": "mqtt_ca_file", "mqtt.cert_file": "mqtt_cert_file",
    "mqtt.key_file": "mqtt_key_file",
    "batch.size": "batch_size", "batch.interval_s": "batch_interval_s",
    "batch.max_pending": "max_pending",
    "retry.initial_s": "retry_initial_s", "retry.max_s": "retry_max_s",
    "influx.url": "influx_url", "influx.org": "influx_org", "influx.bucket": "influx_bucket",
    "influx.token": "influx_token", "influx.token_file": "influx_token_file",
    "influx.timeout_s": "influx_timeout_s",
    "embedded.path": "db_path",
    "dead_letter.path": "dead_letter_path", "dead_letter.max_bytes": "dead_letter_max_bytes",
    "dead_letter.backups": "dead_letter_backups",
    "buffer.dir": "buffer_dir", "buffer.max_bytes": "buffer_max_bytes",
    "buffer.overflow": "buffer_overflow",
    "shutdown.drain_timeout_s": "drain_timeout_s",
    "observability.host": "metrics_host", "observability.port": "metrics_port",
    "observability.stats_interval_s": "stats_interval_s",
}

#: Environment variable -> CollectorConfig field.
ENV_KEYS: Mapping[str, str] = {
    "INFLUX_URL": "influx_url", "INFLUX_ORG": "influx_org", "INFLUX_BUCKET": "influx_bucket",
    "INFLUX_TOKEN": "influx_token", "INFLUX_TOKEN_FILE": "influx_token_file",
    "SMARTPARK_MQTT_HOST": "mqtt_host", "SMARTPARK_MQTT_PORT": "mqtt_port",
    "SMARTPARK_MQTT_USERNAME": "mqtt_username", "SMARTPARK_MQTT_PASSWORD": "mqtt_password",
    "SMARTPARK_MQTT_PASSWORD_FILE": "mqtt_password_file", "SMARTPARK_MQTT_TLS": "mqtt_tls",
    "SMARTPARK_MQTT_CA_FILE": "mqtt_ca_file", "SMARTPARK_MQTT_CERT_FILE": "mqtt_cert_file",
    "SMARTPARK_MQTT_KEY_FILE": "mqtt_key_file",
    "SMARTPARK_DB": "db_path",
    "SMARTPARK_METRICS_PORT": "metrics_port", "SMARTPARK_METRICS_HOST": "metrics_host",
    "SMARTPARK_BUFFER_DIR": "buffer_dir",
}

DEFAULT_DB = Path("smartpark-data") / "park.duckdb"
DEFAULT_DEAD_LETTER = Path("smartpark-data") / "dead-letter.jsonl"
DEFAULT_BUFFER = Path("smartpark-data") / "buffer"
#: Default bound of the outage buffer: 1 GiB holds about 2.5 million meter messages.
DEFAULT_BUFFER_BYTES = 1 << 30
#: A non-zero buffer smaller than this could not hold one ordinary batch.
MIN_BUFFER_BYTES = 1 << 20
_SIZE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
               "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}


def parse_size(text: str) -> int:
    """Parse a byte count such as ``1073741824``, ``512MiB`` or ``1GiB``.

    Raises:
        ValueError: the text is not a whole number with an optional unit.
    """
    match = _SIZE.match(text)
    if match is None:
        msg = f"{text!r} is not a size; write e.g. 536870912, 512MiB or 1GiB"
        raise ValueError(msg)
    return int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]


class ConfigError(ValueError):
    """A setting is missing or has a value the collector cannot use."""


@dataclass(frozen=True, slots=True)
class CollectorConfig:
    """Every collector setting, with defaults that need no setup.

    Attributes:
        mqtt_host: broker host.
        mqtt_port: broker port.
        mqtt_protocol: ``"5"`` (default) or ``"3.1.1"`` (for brokers without MQTT 5).
        client_id: MQTT client id; required, because the session is persistent.
        topic: subscription filter (QoS 1); default every smartpark topic.
        session_expiry_s: MQTT 5 session expiry; the broker keeps the session (and queues
            messages) this long while the collector is away.
        receive_maximum: MQTT 5 Receive Maximum: unacknowledged QoS 1 messages the broker
            may send at once.
        keepalive_s: MQTT keep-alive.
        mqtt_username: optional user name.
        mqtt_password: optional password (never logged).
        mqtt_password_file: file holding the password (used when ``mqtt_password`` is
            empty; a Docker secret, for example).
        mqtt_tls: connect with TLS (implied by a CA, certificate or key file).
        mqtt_ca_file: CA certificate(s) to verify the broker with (default: the system's).
        mqtt_cert_file: client certificate for mutual TLS.
        mqtt_key_file: private key of the client certificate.
        batch_size: points per sink write.
        batch_interval_s: longest a message waits before its batch is written.
        max_pending: received-but-unacknowledged messages held; at this bound the collector
            stops reading from the broker (back-pressure) until a batch is acknowledged.
        retry_initial_s: first retry delay after a failed sink write (doubles, capped).
        retry_max_s: cap of the retry delay. Short (5 s) because while the database is down
            new batches go to the outage buffer: the cap is how late its return is noticed.
        influx_url: InfluxDB v2 URL; when set, the Influx sink is used.
        influx_org: InfluxDB organisation.
        influx_bucket: InfluxDB bucket.
        influx_token: InfluxDB API token (never logged).
        influx_token_file: file holding the token (used when ``influx_token`` is empty).
        influx_timeout_s: HTTP timeout of one write.
        db_path: embedded DuckDB file.
        dead_letter_path: JSON-lines file of rejected messages.
        dead_letter_max_bytes: size at which the dead-letter file is rotated.
        dead_letter_backups: rotated files kept (older ones are deleted).
        metrics_host: address of the ``/metrics`` and ``/health`` server (loopback by
            default: the endpoints have no authentication).
        metrics_port: its TCP port; 0 (default) runs no server.
        stats_interval_s: how often the counters are written through the sink as the
            ``collector`` measurement; 0 turns that off.
        buffer_dir: directory of the on-disk outage buffers; each client id has its own
            subdirectory (:attr:`buffer_path`).
        buffer_max_bytes: bound of the outage buffer; 0 turns it off (a failing sink then
            blocks, as the ``block`` policy does when the buffer is full).
        buffer_overflow: what a full buffer does: ``block`` (stop acknowledging; the broker
            keeps further messages) or ``drop_oldest`` (delete the oldest batches, counted).
        drain_timeout_s: on SIGTERM/SIGINT, how long to keep writing in-flight batches (to
            the sink, or to the buffer when the sink is down) before disconnecting.
    """

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_protocol: Literal["5", "3.1.1"] = "5"
    client_id: str = "smartpark-collector"
    topic: str = subscription()
    session_expiry_s: int = 86_400
    receive_maximum: int = 20_000
    keepalive_s: int = 30
    mqtt_username: str = ""
    mqtt_password: str = dataclasses.field(default="", repr=False)
    mqtt_password_file: str = ""
    mqtt_tls: bool = False
    mqtt_ca_file: str = ""
    mqtt_cert_file: str = ""
    mqtt_key_file: str = ""
    batch_size: int = 5000
    batch_interval_s: float = 1.0
    max_pending: int = 20_000
    retry_initial_s: float = 0.5
    retry_max_s: float = 5.0
    influx_url: str = ""
    influx_org: str = ""
    influx_bucket: str = ""
    influx_token: str = dataclasses.field(default="", repr=False)
    influx_token_file: str = ""
    influx_timeout_s: float = 30.0
    db_path: Path = DEFAULT_DB
    dead_letter_path: Path = DEFAULT_DEAD_LETTER
    dead_letter_max_bytes: int = 64 * 1024 * 1024
    dead_letter_backups: int = 3
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    stats_interval_s: float = 10.0
    buffer_dir: Path = DEFAULT_BUFFER
    buffer_max_bytes: int = DEFAULT_BUFFER_BYTES
    buffer_overflow: Literal["block", "drop_oldest"] = "block"
    drain_timeout_s: float = 10.0

    @property
    def buffer_path(self) -> Path:
        """This collector's outage buffer: ``buffer_dir`` / the client id (made file-safe).

        The buffer belongs to the MQTT session: what is in it was acknowledged under that
        client id. Collectors with different ids on one host (a load test, a shared
        subscription group) therefore never drain each other's batches.
        """
        return self.buffer_dir / (re.sub(r"[^A-Za-z0-9._-]", "_", self.client_id) or "_")

    @property
    def sink(self) -> Literal["influx", "embedded"]:
        """Which sink the settings select."""
        return "influx" if self.influx_url else "embedded"

    @property
    def uses_tls(self) -> bool:
        """Whether the broker connection is TLS (asked for, or implied by a TLS file)."""
        return self.mqtt_tls or bool(self.mqtt_ca_file or self.mqtt_cert_file
                                     or self.mqtt_key_file)

    def password(self) -> str:
        """Return the MQTT password, reading ``mqtt_password_file`` when it is not set."""
        if self.mqtt_password:
            return self.mqtt_password
        if self.mqtt_password_file:
            return Path(self.mqtt_password_file).read_text(encoding="utf-8").strip()
        return ""

    def token(self) -> str:
        """Return the Influx token, reading ``influx_token_file`` when the token is not set."""
        if self.influx_token:
            return self.influx_token
        if self.influx_token_file:
            return Path(self.influx_token_file).read_text(encoding="utf-8").strip()
        return ""

    def validate(self) -> CollectorConfig:
        """Check every setting; return self or raise :class:`ConfigError`."""
        _positive("mqtt.port / --mqtt-port", self.mqtt_port, upper=65535)
        if self.mqtt_protocol not in ("5", "3.1.1"):
            _fail("mqtt.protocol / --mqtt-protocol", self.mqtt_protocol, "'5' or '3.1.1'")
        if not self.client_id:
            _fail("mqtt.client_id / --client-id", self.client_id,
                  "a non-empty client id (the persistent session is stored under it)")
        self._validate_mqtt()
        _positive("mqtt.receive_maximum / --receive-maximum", self.receive_maximum,
                  upper=65535)
        _positive("mqtt.keepalive_s", self.keepalive_s, upper=65535)
        # MQTT 5 carries it in four bytes; 4294967295 means the session never expires.
        _positive("mqtt.session_expiry_s", self.session_expiry_s, zero=True, upper=4_294_967_295)
        _positive("batch.size / --batch-size", self.batch_size)
        _positive("batch.interval_s / --batch-interval", self.batch_interval_s)
        _positive("batch.max_pending / --max-pending", self.max_pending)
        if self.max_pending < self.batch_size:
            _fail("batch.max_pending / --max-pending", self.max_pending,
                  f"at least batch.size ({self.batch_size}), or no batch could fill")
        _positive("retry.initial_s", self.retry_initial_s)
        if self.retry_max_s < self.retry_initial_s:
            _fail("retry.max_s", self.retry_max_s, f">= retry.initial_s ({self.retry_initial_s})")
        _positive("dead_letter.max_bytes", self.dead_letter_max_bytes)
        _positive("dead_letter.backups", self.dead_letter_backups, zero=True)
        _writable_dir("dead_letter.path / --dead-letter", self.dead_letter_path)
        _positive("observability.port / --metrics-port / SMARTPARK_METRICS_PORT",
                  self.metrics_port, upper=65535, zero=True)
        if self.metrics_port and not self.metrics_host.strip():
            _fail("observability.host / --metrics-host", self.metrics_host,
                  "an address to bind, e.g. 127.0.0.1 (or set the port to 0 to disable)")
        _positive("observability.stats_interval_s / --stats-interval", self.stats_interval_s,
                  zero=True)
        self._validate_buffer()
        _positive("shutdown.drain_timeout_s / --drain-timeout", self.drain_timeout_s)
        if self.sink == "influx":
            self._validate_influx()
        else:
            _writable_dir("embedded.path / --db / SMARTPARK_DB", self.db_path)
        return self

    def _validate_mqtt(self) -> None:
        if not self.topic or "#" in self.topic[:-1]:
            _fail("mqtt.topic / --topic", self.topic, "an MQTT topic filter")
        if self.topic.startswith("$share/"):
            parts = self.topic.split("/", 2)
            if len(parts) < 3 or not parts[1] or any(c in parts[1] for c in "+#") \
                    or not parts[2]:
                _fail("mqtt.topic / --topic", self.topic,
                      "$share/GROUP/FILTER: a group name without + or #, then a topic filter")
        for name, path in (("mqtt.password_file / SMARTPARK_MQTT_PASSWORD_FILE",
                            self.mqtt_password_file),
                           ("mqtt.ca_file / --ca-file", self.mqtt_ca_file),
                           ("mqtt.cert_file / --cert", self.mqtt_cert_file),
                           ("mqtt.key_file / --key", self.mqtt_key_file)):
            if path and not Path(path).is_file():
                _fail(name, path, "a readable file")
        if self.mqtt_key_file and not self.mqtt_cert_file:
            _fail("mqtt.key_file / --key", self.mqtt_key_file,
                  "to come with mqtt.cert_file / --cert (the key's certificate)")

    def _validate_buffer(self) -> None:
        name = "buffer.max_bytes / --buffer-max-bytes"
        _positive(name, self.buffer_max_bytes, zero=True)
        if 0 < self.buffer_max_bytes < MIN_BUFFER_BYTES:
            _fail(name, self.buffer_max_bytes,
                  f"0 (no buffer) or at least {MIN_BUFFER_BYTES} bytes (1MiB)")
        if self.buffer_overflow not in ("block", "drop_oldest"):
            _fail("buffer.overflow / --buffer-overflow", self.buffer_overflow,
                  "'block' or 'drop_oldest'")
        if self.buffer_max_bytes:
            _writable_dir("buffer.dir / --buffer-dir / SMARTPARK_BUFFER_DIR",
                          self.buffer_dir / "segment")
            if self.buffer_dir.exists() and not self.buffer_dir.is_dir():
                _fail("buffer.dir / --buffer-dir / SMARTPARK_BUFFER_DIR",
                      str(self.buffer_dir), "a directory")

    def _validate_influx(self) -> None:
        if not self.influx_url.startswith(("http://", "https://")):
            _fail("influx.url / INFLUX_URL / --influx-url", self.influx_url,
                  "an http:// or https:// URL")
        for name, value in (("influx.org / INFLUX_ORG", self.influx_org),
                            ("influx.bucket / INFLUX_BUCKET", self.influx_bucket)):
            if not value:
                msg = (f"{name} is not set; the Influx sink (chosen because an Influx URL is "
                       "set) needs it")
                raise ConfigError(msg)
        if self.influx_token_file and not self.influx_token:
            path = Path(self.influx_token_file)
            if not path.is_file():
                _fail("influx.token_file / INFLUX_TOKEN_FILE", str(path), "a readable file")
        elif not self.influx_token:
            msg = ("INFLUX_TOKEN is not set (nor influx.token / influx.token_file / "
                   "INFLUX_TOKEN_FILE); the Influx sink needs an API token")
            raise ConfigError(msg)
        _positive("influx.timeout_s", self.influx_timeout_s)


def _fail(name: str, value: object, expected: str) -> None:
    shown = repr(value) if not isinstance(value, str) or len(value) < 80 else repr(value[:77])
    msg = f"{name} is {shown}; expected {expected}"
    raise ConfigError(msg)


def _positive(name: str, value: float, *, upper: float | None = None,
              zero: bool = False) -> None:
    low_ok = value >= 0 if zero else value > 0
    if isinstance(value, bool) or not low_ok or (upper is not None and value > upper):
        bounds = f"{'>= 0' if zero else '> 0'}" + (f" and <= {upper:.0f}" if upper else "")
        _fail(name, value, f"a number {bounds}")


def _writable_dir(name: str, path: Path) -> None:
    parent = path.parent if str(path.parent) else Path()
    probe = parent
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        _fail(name, str(path), f"a path in a writable directory ({probe} is not one)")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _boolean(raw: object) -> bool:
    """A TOML boolean, or an environment string such as ``true``/``false``/``1``/``0``."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(text)


def _coerce(name: str, raw: object, source: str) -> object:
    """Convert *raw* (from TOML or the environment) to the type of field *name*."""
    target = {f.name: f for f in dataclasses.fields(CollectorConfig)}[name]
    default = target.default
    try:
        if isinstance(default, bool):
            return _boolean(raw)
        if isinstance(default, int):
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError
            sized = name == "buffer_max_bytes" and isinstance(raw, str)
            return parse_size(str(raw)) if sized else int(raw)  # type: ignore[call-overload]
        if isinstance(default, float):
            if isinstance(raw, bool):
                raise ValueError
            return float(raw)  # type: ignore[arg-type]
        if isinstance(default, Path):
            return Path(str(raw)).expanduser()
    except (TypeError, ValueError):
        kind = type(default).__name__
        expected = ("a size in bytes such as 536870912, 512MiB or 1GiB"
                    if name == "buffer_max_bytes" else f"a{'n' if kind == 'int' else ''} {kind}")
        msg = f"{source} is {raw!r}; expected {expected}"
        raise ConfigError(msg) from None
    if name == "mqtt_protocol":
        text = str(raw)
        return {"5": "5", "5.0": "5", "3.1.1": "3.1.1", "311": "3.1.1"}.get(text, text)
    return str(raw)


def load_config(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> CollectorConfig:
    """Build and validate the configuration from a TOML file, the environment and flags.

    Args:
        path: TOML file, or ``None``.
        env: environment (default ``os.environ``); see :data:`ENV_KEYS`.
        overrides: field values from the command line; ``None`` values are ignored.

    Raises:
        ConfigError: a setting is missing, malformed or unusable.
    """
    values: dict[str, object] = {}
    if path is not None:
        values.update(_read_toml(Path(path)))
    environ = os.environ if env is None else env
    for key, name in ENV_KEYS.items():
        if environ.get(key):
            values[name] = _coerce(name, environ[key], f"environment variable {key}")
    fields = {f.name for f in dataclasses.fields(CollectorConfig)}
    for name, value in (overrides or {}).items():
        if value is None:
            continue
        if name not in fields:
            msg = f"unknown setting {name!r}"
            raise ConfigError(msg)
        values[name] = _coerce(name, value, f"--{name.replace('_', '-')}")
    return CollectorConfig(**values).validate()  # type: ignore[arg-type]


def _read_toml(path: Path) -> dict[str, object]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        msg = f"cannot read config file {path}: {exc.strerror}"
        raise ConfigError(msg) from None
    except tomllib.TOMLDecodeError as exc:
        msg = f"config file {path} is not valid TOML: {exc}"
        raise ConfigError(msg) from None
    values: dict[str, object] = {}
    for section, table in document.items():
        if not isinstance(table, dict):
            msg = f"{path}: top-level key {section!r} must be a table like [mqtt] or [batch]"
            raise ConfigError(msg)
        for key, raw in table.items():
            dotted = f"{section}.{key}"
            name = TOML_KEYS.get(dotted)
            if name is None:
                known = ", ".join(sorted(TOML_KEYS))
                msg = f"{path}: unknown setting {dotted!r}; known settings: {known}"
                raise ConfigError(msg)
            values[name] = _coerce(name, raw, f"{path}: {dotted}")
    return values
