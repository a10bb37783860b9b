"""Pure numeric models (no I/O, no clocks): arrays of time and random numbers in, values out.

* :mod:`simulator.models.load`: tenant active power (shift shapes, calendar, AR(1) noise);
* :mod:`simulator.models.electrical`: PF, Q, S, per-phase V and I, THD, energy registers;
* :mod:`simulator.models.network`: feeder and substation sums with losses.
"""
