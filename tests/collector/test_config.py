"""Configuration: TOML, environment and flags, and start-up validation messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.config import CollectorConfig, ConfigError, load_config


def test_defaults_select_the_embedded_sink(tmp_path: Path) -> None:
    """With no Influx URL the embedded DuckDB sink is chosen."""
    config = load_config(env={}, overrides={"db_path": tmp_path / "x.duckdb",
                                            "dead_letter_path": tmp_path / "d.jsonl"})
    assert config.sink == "embedded"
    assert config.topic == "+/+/+/+/+/+"


def test_toml_then_env_then_flags(tmp_path: Path) -> None:
    """Flags beat the environment, which beats the file."""
    path = tmp_path / "c.toml"
    path.write_text('[mqtt]\nport = 1884\nprotocol = "3.1.1"\n[batch]\nsize = 100\n'
                    '[influx]\nurl = "http://a:8086"\norg = "o"\nbucket = "b"\n'
                    f'[embedded]\npath = "{tmp_path / "db"}"\n'
                    f'[dead_letter]\npath = "{tmp_path / "dl"}"\n')
    config = load_config(path, env={"INFLUX_TOKEN": "secret", "SMARTPARK_MQTT_PORT": "1885"},
                         overrides={"batch_size": 50, "mqtt_host": None})
    assert (config.mqtt_port, config.batch_size, config.mqtt_protocol) == (1885, 50, "3.1.1")
    assert config.sink == "influx"
    assert config.token() == "secret"
    assert "secret" not in repr(config)


def test_token_file_is_read(tmp_path: Path) -> None:
    """INFLUX_TOKEN_FILE provides the token when INFLUX_TOKEN is not set."""
    token = tmp_path / "token"
    token.write_text("abc\n")
    config = load_config(env={"INFLUX_URL": "http://x", "INFLUX_ORG": "o",
                              "INFLUX_BUCKET": "b", "INFLUX_TOKEN_FILE": str(token)},
                         overrides={"dead_letter_path": tmp_path / "d"})
    assert config.token() == "abc"
    assert CollectorConfig().token() == ""


@pytest.mark.parametrize(("env", "overrides", "message"), [
    ({"INFLUX_URL": "http://x", "INFLUX_ORG": "o", "INFLUX_BUCKET": "b"}, {},
     "INFLUX_TOKEN is not set"),
    ({"INFLUX_URL": "http://x", "INFLUX_BUCKET": "b"}, {}, "INFLUX_ORG is not set"),
    ({"INFLUX_URL": "ftp://x"}, {}, "expected an http"),
    ({"INFLUX_URL": "http://x", "INFLUX_ORG": "o", "INFLUX_BUCKET": "b",
      "INFLUX_TOKEN_FILE": "/nonexistent/t"}, {}, "a readable file"),
    ({}, {"batch_size": 0}, "batch.size / --batch-size is 0"),
    ({}, {"max_pending": 10, "batch_size": 20}, "at least batch.size"),
    ({}, {"mqtt_port": 70000}, "<= 65535"),
    ({}, {"session_expiry_s": 2**32}, "expected a number >= 0 and <= 4294967295"),
    ({}, {"mqtt_protocol": "4"}, "'5' or '3.1.1'"),
    ({}, {"client_id": ""}, "non-empty client id"),
    ({}, {"topic": "a/#/b"}, "topic filter"),
    ({}, {"db_path": "/proc/1/x/y.duckdb"}, "writable directory"),
    ({"SMARTPARK_MQTT_PORT": "many"}, {}, "SMARTPARK_MQTT_PORT is 'many'; expected an int"),
    ({}, {"buffer_max_bytes": 1000}, "at least 1048576 bytes"),
    ({}, {"buffer_max_bytes": "1 parsec"}, "expected a size in bytes"),
    ({}, {"buffer_overflow": "spill"}, "'block' or 'drop_oldest'"),
    ({}, {"drain_timeout_s": 0}, "shutdown.drain_timeout_s / --drain-timeout is 0"),
    ({}, {"stats_interval_s": -1}, "observability.stats_interval_s"),
    ({}, {"nonsense": 1}, "unknown setting"),
])
def test_bad_settings_give_actionable_errors(tmp_path: Path, env: dict[str, str],
                                             overrides: dict[str, object], message: str) -> None:
    """Each bad setting names itself, its value and what was expected."""
    base: dict[str, object] = {"dead_letter_path": tmp_path / "d"}
    base.update(overrides)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("|", r"\|")):
        load_config(env=env, overrides=base)


def test_bad_config_files(tmp_path: Path) -> None:
    """Missing files, invalid TOML, unknown keys and wrong types are reported with the path."""
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.toml", env={})
    bad = tmp_path / "bad.toml"
    for text, message in [("[mqtt\n", "not valid TOML"), ("x = 1\n", "must be a table"),
                          ("[mqtt]\nprot = 1\n", "unknown setting 'mqtt.prot'"),
                          ("[batch]\nsize = 1.5\n", "batch.size is 1.5"),
                          ("[batch]\ninterval_s = true\n", "expected a float")]:
        bad.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_config(bad, env={})
    assert load_config(env={}, overrides={"mqtt_protocol": "311", "retry_max_s": 1,
                                          "dead_letter_path": tmp_path / "d"}).mqtt_protocol \
        == "3.1.1"
    with pytest.raises(ConfigError, match=r"retry\.max_s"):
        CollectorConfig(retry_initial_s=2, retry_max_s=1).validate()


def test_buffer_settings_from_toml_with_sizes(tmp_path: Path) -> None:
    """[buffer] and [shutdown] keys load; sizes accept units; the environment sets the dir."""
    path = tmp_path / "c.toml"
    path.write_text('[buffer]\nmax_bytes = "512MiB"\noverflow = "drop_oldest"\n'
                    '[shutdown]\ndrain_timeout_s = 3\n[observability]\nstats_interval_s = 0\n'
                    f'[dead_letter]\npath = "{tmp_path / "dl"}"\n'
                    f'[embedded]\npath = "{tmp_path / "db"}"\n')
    config = load_config(path, env={"SMARTPARK_BUFFER_DIR": str(tmp_path / "buf")})
    assert (config.buffer_max_bytes, config.buffer_overflow) == (512 << 20, "drop_oldest")
    assert (config.drain_timeout_s, config.stats_interval_s) == (3.0, 0.0)
    assert config.buffer_dir == tmp_path / "buf"
    assert config.buffer_path == tmp_path / "buf" / "smartpark-collector"
    odd = load_config(path, env={}, overrides={"client_id": "a/b c"})
    assert odd.buffer_path.name == "a_b_c"
    assert load_config(env={}, overrides={"buffer_max_bytes": "2GB",
                                          "dead_letter_path": tmp_path / "d",
                                          "db_path": tmp_path / "x"}).buffer_max_bytes == 2 * 10**9
    assert CollectorConfig().buffer_max_bytes == 1 << 30


def test_a_file_where_the_buffer_dir_should_be_is_refused(tmp_path: Path) -> None:
    """buffer.dir must be a directory (or creatable as one)."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"buffer\.dir"):
        load_config(env={}, overrides={"buffer_dir": blocker, "dead_letter_path": tmp_path / "d",
                                       "db_path": tmp_path / "x"})


def test_shared_subscription_filters_need_a_group_and_a_filter(tmp_path: Path) -> None:
    """$share/GROUP/FILTER is accepted; a missing filter or a wildcard group is refused."""
    base = {"db_path": tmp_path / "p.duckdb", "dead_letter_path": tmp_path / "d.jsonl",
            "buffer_dir": tmp_path / "b"}
    ok = CollectorConfig(topic="$share/collectors/refpark/#", **base).validate()  # type: ignore[arg-type]
    assert ok.topic.startswith("$share/")
    for bad in ("$share/collectors", "$share//refpark/#", "$share/c+/refpark/#"):
        with pytest.raises(ConfigError, match=r"\$share/GROUP/FILTER"):
            CollectorConfig(topic=bad, **base).validate()  # type: ignore[arg-type]


def test_booleans_from_the_environment_mean_what_they_say(tmp_path: Path) -> None:
    """SMARTPARK_MQTT_TLS=false is false, =1 is true, =maybe is an error naming the variable."""
    env = {"SMARTPARK_DB": str(tmp_path / "p.duckdb")}
    assert not load_config(None, env={**env, "SMARTPARK_MQTT_TLS": "false"}).mqtt_tls
    assert load_config(None, env={**env, "SMARTPARK_MQTT_TLS": "1"}).uses_tls
    with pytest.raises(ConfigError, match="SMARTPARK_MQTT_TLS is 'maybe'"):
        load_config(None, env={**env, "SMARTPARK_MQTT_TLS": "maybe"})


def test_tls_and_password_files_are_checked_and_the_password_read(tmp_path: Path) -> None:
    """A missing CA or password file, or a key without its certificate, fails at start."""
    env = {"SMARTPARK_DB": str(tmp_path / "p.duckdb")}
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    config = load_config(None, env={**env, "SMARTPARK_MQTT_PASSWORD_FILE": str(secret)})
    assert config.password() == "s3cret"
    assert "s3cret" not in repr(config)
    assert load_config(None, env=env, overrides={"mqtt_ca_file": str(secret)}).uses_tls
    for overrides, needle in (({"mqtt_ca_file": str(tmp_path / "no.crt")}, "mqtt.ca_file"),
                              ({"mqtt_key_file": str(secret)}, "to come with mqtt.cert_file")):
        with pytest.raises(ConfigError, match=needle):
            load_config(None, env=env, overrides=overrides)
    with pytest.raises(ConfigError, match="SMARTPARK_MQTT_PASSWORD_FILE"):
        load_config(None, env={**env, "SMARTPARK_MQTT_PASSWORD_FILE": str(tmp_path / "x")})
