"""Run the pure-Python amqtt broker on a loopback port (the demo's fallback broker).

Started by :class:`smartpark.broker.EmbeddedBroker` as ``python -m smartpark.amqtt_server``;
it runs until terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import warnings


async def serve(port: int, host: str = "127.0.0.1") -> None:
    """Serve MQTT on *host*:*port* until SIGTERM or SIGINT."""
    with warnings.catch_warnings():
        # amqtt warns about its own plugin-loading internals; nothing for our users to act on.
        warnings.simplefilter("ignore", DeprecationWarning)
        from amqtt.broker import Broker  # noqa: PLC0415  (imported here to silence its warnings)

        broker = Broker({
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        })
        await broker.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await broker.shutdown()


def main(argv: list[str] | None = None) -> None:
    """Parse ``--port`` and serve."""
    parser = argparse.ArgumentParser(description="Run the embedded amqtt broker.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(args.port, args.host))


if __name__ == "__main__":  # pragma: no cover
    main()
