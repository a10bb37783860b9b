"""The topic namespace: parsing, building, round trips and every rejection."""

from __future__ import annotations

import pytest

from parkwire import (
    Channel,
    ContractError,
    DecodeError,
    DecodeReason,
    Domain,
    Topic,
    is_slug,
    subscription,
)
from parkwire.topics import LEVELS, MAX_SEGMENT_LENGTH, check_segment

EXAMPLE = "refpark/bac-ninh/energy/meter/mtr-t017/telemetry"


def test_parse_reads_every_level() -> None:
    """A well-formed topic parses into its six named levels."""
    topic = Topic.parse(EXAMPLE)
    assert topic == Topic("refpark", "bac-ninh", Domain.ENERGY, "meter", "mtr-t017",
                          Channel.TELEMETRY)


def test_str_is_the_wire_form() -> None:
    """str() of a parsed topic gives back the exact text it was parsed from."""
    assert str(Topic.parse(EXAMPLE)) == EXAMPLE


@pytest.mark.parametrize("channel", list(Channel))
@pytest.mark.parametrize("domain", list(Domain))
def test_every_domain_and_channel_round_trips(domain: Domain, channel: Channel) -> None:
    """Every domain/channel combination survives build -> str -> parse."""
    topic = Topic("p", "s", domain, "meter", "d-1", channel)
    assert Topic.parse(str(topic)) == topic


def test_with_channel_keeps_the_device() -> None:
    """with_channel changes only the channel level."""
    telemetry = Topic.parse(EXAMPLE)
    status = telemetry.with_channel(Channel.STATUS)
    assert str(status) == "refpark/bac-ninh/energy/meter/mtr-t017/status"
    assert status.with_channel(Channel.TELEMETRY) == telemetry


def test_parse_is_permissive_about_device_names() -> None:
    """Ids real devices give themselves (unicode, spaces, capitals, dots) are accepted."""
    text = "Khu Công Nghiệp/Bắc Ninh/energy/meter/Đồng hồ T-17 (main)/event"
    topic = Topic.parse(text)
    assert topic.device_id == "Đồng hồ T-17 (main)"
    assert str(topic) == text


def test_segment_of_maximum_length_is_accepted() -> None:
    """A segment of exactly MAX_SEGMENT_LENGTH characters is still valid."""
    device = "x" * MAX_SEGMENT_LENGTH
    assert Topic.parse(f"p/s/energy/meter/{device}/status").device_id == device


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("p/s/energy/meter/telemetry", "has 5 levels; expected 6"),
        ("p/s/energy/meter/d/telemetry/extra", "has 7 levels; expected 6"),
        ("", "has 1 levels; expected 6"),
        ("p/s/plumbing/meter/d/telemetry", "unknown domain 'plumbing'"),
        ("p/s/Energy/meter/d/telemetry", "unknown domain 'Energy'"),
        ("p/s/energy/meter/d/data", "unknown channel 'data'"),
        ("p//energy/meter/d/telemetry", "topic site '' is empty"),
        ("$SYS/s/energy/meter/d/telemetry", "starts with '$'"),
        ("p/s/energy/meter/d+1/telemetry", "forbidden character '+'"),
        ("p/s/energy/meter/d#/telemetry", "forbidden character '#'"),
        ("p/s/energy/met\x00er/d/telemetry", "forbidden character '\\x00'"),
        ("p/s/energy/meter/d\x7f/telemetry", "forbidden character '\\x7f'"),
        ("p/s/energy/meter/d\x85/telemetry", "forbidden character '\\x85'"),
        (f"p/s/energy/meter/{'d' * (MAX_SEGMENT_LENGTH + 1)}/telemetry",
         f"longer than {MAX_SEGMENT_LENGTH} characters"),
    ],
)
def test_parse_rejects_with_a_reason(text: str, expected: str) -> None:
    """Each malformed topic raises DecodeError(bad_topic) whose detail names the problem."""
    with pytest.raises(DecodeError) as caught:
        Topic.parse(text)
    assert caught.value.reason is DecodeReason.BAD_TOPIC
    assert expected in caught.value.detail
    assert str(caught.value).startswith("bad_topic: ")


def test_level_count_message_explains_the_layout() -> None:
    """A wrong level count tells the reader the expected layout."""
    with pytest.raises(DecodeError, match="park/site/domain/asset_type/device_id/channel"):
        Topic.parse("a/b")


def test_long_garbage_is_truncated_in_the_detail() -> None:
    """A huge bad topic does not produce a huge error message."""
    with pytest.raises(DecodeError) as caught:
        Topic.parse("x" * 10_000)
    assert len(caught.value.detail) < 400


@pytest.mark.parametrize("field", ["park", "site", "asset_type", "device_id"])
def test_building_a_topic_validates_every_free_segment(field: str) -> None:
    """Constructing a Topic with a bad segment is a ContractError naming the field."""
    values = {"park": "p", "site": "s", "asset_type": "meter", "device_id": "d"}
    values[field] = "a/b"
    with pytest.raises(ContractError, match=f"topic {field} 'a/b' contains the forbidden"):
        Topic(values["park"], values["site"], Domain.ENERGY, values["asset_type"],
              values["device_id"], Channel.TELEMETRY)


def test_contract_error_is_a_value_error() -> None:
    """ContractError can be caught as ValueError by callers that do not import parkwire."""
    with pytest.raises(ValueError, match="is empty"):
        Topic("", "s", Domain.ENERGY, "meter", "d", Channel.STATUS)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ok", None),
        ("", "is empty"),
        ("$x", "starts with '$' (reserved for broker topics)"),
        ("a\tb", "contains the forbidden character '\\t'"),
        ("a/b", "contains the forbidden character '/'"),
        ("x" * 129, "is longer than 128 characters"),
    ],
)
def test_check_segment(text: str, problem: str | None) -> None:
    """check_segment returns None for a good segment and the reason for a bad one."""
    assert check_segment(text) == problem


@pytest.mark.parametrize("text", ["refpark", "bac-ninh", "mtr-t017", "a", "0", "x_1.2-3",
                                  "a" * 64])
def test_slugs(text: str) -> None:
    """Strict smartpark ids are lowercase letters, digits and _ . - after a letter or digit."""
    assert is_slug(text)


@pytest.mark.parametrize("text", ["", "-a", "_a", ".a", "A", "a b", "a/b", "đ", "a" * 65])
def test_not_slugs(text: str) -> None:
    """Capitals, spaces, unicode, a leading separator or more than 64 characters are no slug."""
    assert not is_slug(text)


def test_levels_constant_matches_the_topic() -> None:
    """LEVELS is the number of fields a topic has."""
    assert len(EXAMPLE.split("/")) == LEVELS == len(Topic.__slots__)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "+/+/+/+/+/+"),
        ({"park": "refpark"}, "refpark/+/+/+/+/+"),
        ({"park": "refpark", "site": "bac-ninh"}, "refpark/bac-ninh/+/+/+/+"),
        ({"channel": Channel.TELEMETRY}, "+/+/+/+/+/telemetry"),
        ({"park": "refpark", "channel": Channel.STATUS}, "refpark/+/+/+/+/status"),
    ],
)
def test_subscription_filters(kwargs: dict[str, object], expected: str) -> None:
    """subscription() builds the MQTT filter for a park/site/channel selection."""
    assert subscription(**kwargs) == expected  # type: ignore[arg-type]


def test_subscription_has_one_level_per_topic_level() -> None:
    """A subscription filter has as many levels as a topic, so '+' matches exactly one each."""
    assert len(subscription().split("/")) == LEVELS
