"""smartpark: the composition root that wires the simulator, the collector and the demo.

Only this package imports both :mod:`simulator` and :mod:`collector`; they never import each
other, and both depend on the shared contract :mod:`parkwire`.
"""

__version__ = "0.1.0"
