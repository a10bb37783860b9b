"""The InfluxDB v2 sink: one HTTP write of line protocol per batch, precision milliseconds.

influxdb-client is used only to send a ready batch (``WriteApi`` with ``SYNCHRONOUS``
options): its ``Point`` objects cost microseconds each, which the hot path cannot afford, so
:class:`~collector.mapping.LineEncoder` builds the text. The token is passed to the client and
never logged or shown in errors.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException
from urllib3.exceptions import HTTPError

from collector.mapping import LineEncoder
from collector.sinks.base import SinkError
from collector.store import DeadLetter
from parkwire import Message

_log = logging.getLogger(__name__)


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
        body = self.encode(messages)
        try:
            self._write_api.write(bucket=self.bucket, org=self.org, record=body,
                                  write_precision=WritePrecision.MS)  # type: ignore[arg-type]
        except ApiException as exc:
            msg = f"InfluxDB at {self.url} answered HTTP {exc.status} {exc.reason}"
            raise SinkError(msg) from None
        except (HTTPError, OSError) as exc:
            msg = f"InfluxDB at {self.url} unreachable: {type(exc).__name__}"
            raise SinkError(msg) from None
        _log.debug("wrote %d points to %s", len(messages), self.url)

    def close(self) -> None:
        """Close the HTTP client."""
        self._write_api.close()  # type: ignore[no-untyped-call]
        self._client.close()  # type: ignore[no-untyped-call]
