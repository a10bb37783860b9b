"""A fake message source for the collector's unit tests."""

from __future__ import annotations

from collections.abc import Sequence

from collector.source import MessageHandler


class FakeSource:
    """Feeds raw messages to the collector and records acknowledgements and pauses."""

    def __init__(self) -> None:
        self.handler: MessageHandler | None = None
        self.acks: list[int] = []
        self.paused = False
        self.pauses = 0
        self.closed = False
        self._generation = 1
        self._connected = True
        self._next_mid = 1

    @property
    def generation(self) -> int:
        """Connection number."""
        return self._generation

    @property
    def connected(self) -> bool:
        """Whether acks can be sent."""
        return self._connected

    async def start(self, handler: MessageHandler) -> None:
        """Remember the handler."""
        self.handler = handler

    def feed(self, topic: str, payload: bytes, qos: int = 1) -> int:
        """Deliver one message; return its packet id."""
        assert self.handler is not None
        mid = self._next_mid
        self._next_mid += 1
        self.handler(topic, payload, mid, qos)
        return mid

    def reconnect(self) -> None:
        """Simulate a lost and re-established connection."""
        self._generation += 1

    def ack(self, mids: Sequence[int]) -> None:
        """Record acks."""
        self.acks.extend(mids)

    def pause(self) -> None:
        """Record a pause."""
        self.paused = True
        self.pauses += 1

    def resume(self) -> None:
        """Record a resume."""
        self.paused = False

    async def close(self) -> None:
        """Record closing."""
        self.closed = True
