"""smartpark's simulator: seeded, reproducible telemetry of an industrial park.

Layers: :mod:`simulator.scenario` (what the park is), :mod:`simulator.models` (pure numeric
models), :mod:`simulator.engine` (numbers and messages for a window of time), and the runner /
publisher that release them over MQTT on a clock.
"""
