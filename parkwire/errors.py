"""The contract's error types.

The codec raises exactly one error type, :class:`DecodeError`, whose ``reason`` is a short,
stable code that collectors count and dead-letter by. Building a topic or message with bad
arguments is a programming error and raises :class:`ContractError` (a ``ValueError``).
"""

from __future__ import annotations

from enum import StrEnum


class DecodeReason(StrEnum):
    """Why a message on the wire was rejected; stable codes, safe to use as metric labels."""

    TOO_LARGE = "too_large"
    BAD_TOPIC = "bad_topic"
    UNKNOWN_ASSET_TYPE = "unknown_asset_type"
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    SCHEMA_VERSION = "schema_version"
    MISSING_FIELD = "missing_field"
    BAD_TYPE = "bad_type"
    BAD_TIMESTAMP = "bad_timestamp"
    BAD_SEQUENCE = "bad_sequence"
    UNKNOWN_QUANTITY = "unknown_quantity"
    NON_FINITE = "non_finite"
    OUT_OF_RANGE = "out_of_range"
    BAD_VALUE = "bad_value"


class ContractError(ValueError):
    """A topic, envelope or quantity was built with arguments the contract does not allow."""


class DecodeError(Exception):
    """A message from the wire does not satisfy the contract.

    Attributes:
        reason: machine-readable code (one of :class:`DecodeReason`).
        detail: a sentence a person can act on, naming the offending key when there is one.
    """

    def __init__(self, reason: DecodeReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
