"""Tests of the wire contract (parkwire)."""
