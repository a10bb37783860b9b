"""Seeded randomness: one independent, reproducible stream per device and purpose.

Each stream is a :class:`numpy.random.Generator` derived from ``SeedSequence(seed)`` with a
spawn key made of a stable hash of the device id and a purpose code. A device's numbers
therefore depend only on (seed, device id, purpose): adding or removing other devices, or
reordering them, never changes them (domain.md §8).
"""

from __future__ import annotations

import hashlib
from enum import IntEnum

import numpy as np


class Stream(IntEnum):
    """What a stream is used for; part of the spawn key."""

    NOISE = 0
    """Per-step noise, consumed sequentially step after step."""
    INIT = 1
    """Per-device constants drawn once (unbalance, offsets, initial counters)."""
    DAY = 2
    """Day-level production factor, one draw per (device, local day)."""
    EVENT = 3
    """Discrete occurrences (arrivals, alarms): counts and their details, step after step."""
    FAULT = 4
    """Spontaneous equipment faults and their durations, step after step."""


def device_key(device_id: str) -> int:
    """Return a stable 64-bit key for *device_id* (BLAKE2b; unlike ``hash()``, not salted)."""
    digest = hashlib.blake2b(device_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def device_rng(seed: int, device_id: str, stream: Stream, *extra: int) -> np.random.Generator:
    """Return the generator of one device's *stream* (plus *extra* key parts, e.g. a day)."""
    sequence = np.random.SeedSequence(seed, spawn_key=(device_key(device_id), int(stream),
                                                       *extra))
    return np.random.Generator(np.random.PCG64(sequence))
