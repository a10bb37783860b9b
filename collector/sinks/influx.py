"""The InfluxDB v2 sink: one HTTP write of line protocol per batch, precision milliseconds.

influxdb-client is used only to send a ready batch (``WriteApi`` with ``SYNCHRONOUS``
options): its ``Point`` objects cost microseconds each, which the hot path cannot afford, so
:class:`~collector.mapping.LineEncoder` builds the text. The token is passed to the client and
never logged or shown in errors.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Mapping, Sequence

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException
from urllib3.exceptions import HTTPError

from collector.lineprotocol import escape_key, escape_measurement, format_value
from collector.mapping import LineEncoder
from collector.sinks.base import (
    FatalSinkError,
    RejectedBatchError,
    RetryableSinkError,
    SinkError,
)
from collector.stats import STATS_MEASUREMENT
from collector.store import DeadLetter
from parkwire import Message

_log = logging.getLogger(__name__)

#: Statuses that mean "the store is busy or away; the same request can succeed later".
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Statuses that mean "the data itself is refused" (bad line protocol, too large, schema).
REJECTED_STATUSES = frozenset({400, 413, 422})
#: Which setting to check when the server answers with a configuration error.
_FATAL_HINTS = {
    401: "check INFLUX_TOKEN (influx.token / INFLUX_TOKEN_FILE)",
    403: "check that the token in INFLUX_TOKEN may write to INFLUX_BUCKET",
    404: "check INFLUX_ORG and INFLUX_BUCKET (influx.org, influx.bucket) and INFLUX_URL",
}
#: Longest server message kept in an error (the body can be a whole HTML page).
_MAX_DETAIL = 300


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Return the seconds a ``Retry-After`` header asks to wait, or ``None`` if absent/invalid.

    Args:
        value: delay-seconds (``"120"``) or an HTTP date (``"Wed, 21 Oct 2026 07:28:00 GMT"``).
        now: current epoch seconds (default ``time.time()``), for HTTP dates.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, moment.timestamp() - current)


def _server_message(body: object) -> str:
    """Return the server's explanation from an error body (InfluxDB sends JSON ``message``)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body.strip():
        return ""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body.strip()[:_MAX_DETAIL]
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return str(parsed["message"])[:_MAX_DETAIL]
    return body.strip()[:_MAX_DETAIL]


def classify_http_error(url: str, status: int, reason: str | None, body: object,
                        headers: Mapping[str, str] | None) -> SinkError:
    """Map an HTTP error answer of the write endpoint to the sink error class it deserves."""
    detail = _server_message(body)
    text = f"InfluxDB at {url} answered HTTP {status} {reason or ''}".rstrip()
    if detail:
        text = f"{text}: {detail}"
    if status in RETRYABLE_STATUSES or status >= 500:
        retry_after = parse_retry_after((headers or {}).get("Retry-After"))
        return RetryableSinkError(text, retry_after_s=retry_after)
    if status in REJECTED_STATUSES:
        return RejectedBatchError(text)
    hint = _FATAL_HINTS.get(status, "check INFLUX_URL (influx.url) points at an InfluxDB v2 "
                                    "write endpoint")
    return FatalSinkError(f"{text}; {hint}")


class InfluxSink:
    """Writes batches to an InfluxDB v2 compatible ``/api/v2/write`` endpoint.

    Args:
        url: base URL, e.g. ``http://localhost:8086``.
        org: organisation.
        bucket: bucket.
        token: API token.
        timeout_s: HTTP timeout of one write.
    """

    name = "influx"

    def __init__(self, url: str, org: str, bucket: str, token: str,
                 timeout_s: float = 30.0) -> None:
        self.url = url
        self.org = org
        self.bucket = bucket
        self._client = InfluxDBClient(url=url, token=token, org=org,
                                      timeout=int(timeout_s * 1000), enable_gzip=False)
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        self._encoder = LineEncoder()

    def encode(self, messages: Sequence[Message]) -> bytes:
        """Return the batch as newline-separated line protocol."""
        encode = self._encoder.encode
        return "\n".join([encode(m) for m in messages]).encode("utf-8")

    def write(self, messages: Sequence[Message],
              dead_letters: Sequence[DeadLetter]) -> None:  # noqa: ARG002
        """Send the batch; returns when the server answered 2xx (dead letters stay in the log)."""
        if not messages:
            return
        self._send(self.encode(messages))
        _log.debug("wrote %d points to %s", len(messages), self.url)

    def _send(self, body: bytes) -> None:
        try:
            self._write_api.write(bucket=self.bucket, org=self.org, record=body,
                                  write_precision=WritePrecision.MS)  # type: ignore[arg-type]
        except ApiException as exc:
            raise classify_http_error(self.url, int(exc.status or 0), exc.reason, exc.body,
                                      exc.headers) from None
        except (HTTPError, OSError) as exc:
            msg = f"InfluxDB at {self.url} unreachable: {type(exc).__name__}"
            raise RetryableSinkError(msg) from None

    def write_stats(self, ts_ms: int, client_id: str,
                    fields: Mapping[str, int | float | bool]) -> None:
        """Send one ``collector`` point (tag ``client_id``); errors are classified as in write."""
        line = (f"{escape_measurement(STATS_MEASUREMENT)},client_id={escape_key(client_id)} "
                + ",".join(f"{escape_key(k)}={format_value(v)}" for k, v in fields.items())
                + f" {ts_ms}")
        self._send(line.encode("utf-8"))

    def close(self) -> None:
        """Close the HTTP client."""
        self._write_api.close()  # type: ignore[no-untyped-call]
        self._client.close()  # type: ignore[no-untyped-call]
