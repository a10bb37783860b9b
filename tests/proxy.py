"""A TCP proxy that delays or stalls traffic, to make a server slow in fault tests.

The proxy runs its own event loop in a daemon thread, so it keeps forwarding however busy the
test's loop (or the code under test) is. Point a client at :attr:`LatencyProxy.port` instead
of the server's port, then turn the knobs from any thread:

* :attr:`LatencyProxy.delay_s`: each chunk waits this long before it is forwarded (both
  directions), so a request/response pays it at least twice;
* :meth:`LatencyProxy.stall` / :meth:`LatencyProxy.release`: hold every byte until released,
  the way a database that stopped answering but keeps its connections open behaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType
from typing import Self

#: Bytes read per chunk.
CHUNK = 64 * 1024


class LatencyProxy:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:*target_port* with injected latency.

    Args:
        target_port: the server's port.
        delay_s: initial latency per forwarded chunk.
    """

    def __init__(self, target_port: int, delay_s: float = 0.0) -> None:
        self.target_port = target_port
        self.delay_s = delay_s
        self.port = 0
        self.forwarded = 0  # bytes, both directions
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._flowing = asyncio.Event()
        self._thread = threading.Thread(target=self._loop.run_forever, name="latency-proxy",
                                        daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> Self:
        """Start listening on a free loopback port (see :attr:`port`)."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    async def _start(self) -> None:
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def stall(self) -> None:
        """Hold all traffic (connections stay open) until :meth:`release`."""
        self._loop.call_soon_threadsafe(self._flowing.clear)

    def release(self) -> None:
        """Forward traffic again, held bytes first."""
        self._loop.call_soon_threadsafe(self._flowing.set)

    def stop(self) -> None:
        """Close every connection and the listener, and end the thread."""
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # so that stop() ends this connection too
        self.connections += 1
        streams = [writer]
        try:
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1",
                                                                     self.target_port)
            except OSError:
                return  # the server is down: the client sees its connection closed
            streams.append(up_writer)
            pumps = [asyncio.create_task(self._pump(reader, up_writer)),
                     asyncio.create_task(self._pump(up_reader, writer))]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            self._tasks.discard(task)
            for stream in streams:
                stream.close()
                with contextlib.suppress(OSError, asyncio.CancelledError):
                    await stream.wait_closed()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while chunk := await reader.read(CHUNK):
                await self._flowing.wait()
                if self.delay_s > 0:
                    await asyncio.sleep(self.delay_s)
                writer.write(chunk)
                await writer.drain()
                self.forwarded += len(chunk)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
