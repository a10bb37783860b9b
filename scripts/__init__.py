"""Maintenance scripts (documentation generators)."""
