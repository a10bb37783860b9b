"""docker-compose.yml, its mosquitto config and the Dockerfile hold together.

No Docker engine is needed: Debian's ``docker-compose config`` validates and resolves the file,
and the mosquitto config is parsed here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.servers import MOSQUITTO_LIMITS, SecureMosquitto

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
MOSQUITTO_CONF = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"
ENV_EXAMPLE = ROOT / "deploy" / "influxdb.env.example"
SECRETS = {
    "INFLUXDB_USERNAME": "tester",
    "INFLUXDB_PASSWORD": "a-long-test-password",
    "INFLUXDB_ORG": "test-org",
    "INFLUXDB_BUCKET": "test-bucket",
    "INFLUXDB_ADMIN_TOKEN": "test-token-0123456789",
    "MQTT_COLLECTOR_PASSWORD": "collector-test-password",
    "MQTT_SIMULATOR_PASSWORD": "simulator-test-password",
}


def compose_config(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``docker-compose config`` with exactly *env* as its .env file."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed; `make test` installs it "
                    "(Debian: apt-get install docker-compose)")
    env_file = tmp_path / "test.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    # A developer's own .env or exported variables must not leak into the test.
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("INFLUXDB_", "SMARTPARK_", "COMPOSE_"))}
    return subprocess.run(
        [binary, "--project-directory", str(ROOT), "--env-file", str(env_file),
         "-f", str(COMPOSE), "config"],
        capture_output=True, text=True, env=clean, timeout=60, check=False,
    )


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The compose file as docker-compose resolves it with test secrets (run once)."""
    result = compose_config(tmp_path_factory.mktemp("compose"), SECRETS)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def read_mosquitto_conf(text: str) -> dict[str, list[str]]:
    """Parse mosquitto's ``key value`` lines (comments and blanks skipped)."""
    settings: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            settings.setdefault(key, []).append(value.strip())
    return settings


def test_services(resolved: dict[str, Any]) -> None:
    """The stack is broker, database, collector and simulator, and nothing pretends more."""
    assert set(resolved["services"]) == {"mosquitto", "influxdb", "collector", "simulator"}


def test_mosquitto_uses_the_shipped_config(resolved: dict[str, Any]) -> None:
    """The broker mounts deploy/mosquitto/mosquitto.conf read-only over the image default."""
    volumes = resolved["services"]["mosquitto"]["volumes"]
    assert f"{MOSQUITTO_CONF}:/mosquitto/config/mosquitto.conf:ro" in volumes
    assert any(v.endswith(":/mosquitto/data:rw") for v in volumes)


def test_influxdb_is_initialised_from_the_env_file(resolved: dict[str, Any]) -> None:
    """InfluxDB's setup mode takes every credential from .env."""
    env = resolved["services"]["influxdb"]["environment"]
    assert env["DOCKER_INFLUXDB_INIT_MODE"] == "setup"
    for name in ("USERNAME", "PASSWORD", "ORG", "BUCKET", "ADMIN_TOKEN"):
        assert env[f"DOCKER_INFLUXDB_INIT_{name}"] == SECRETS[f"INFLUXDB_{name}"]


def test_collector_writes_to_the_stack_influxdb(resolved: dict[str, Any]) -> None:
    """The collector reads the broker service and writes to InfluxDB with the admin token."""
    collector = resolved["services"]["collector"]
    assert collector["command"] == ["collect"]
    env = collector["environment"]
    assert env["INFLUX_URL"] == "http://influxdb:8086"
    assert env["SMARTPARK_MQTT_HOST"] == "mosquitto"
    assert (env["INFLUX_ORG"], env["INFLUX_BUCKET"], env["INFLUX_TOKEN"]) == (
        SECRETS["INFLUXDB_ORG"], SECRETS["INFLUXDB_BUCKET"], SECRETS["INFLUXDB_ADMIN_TOKEN"])


def test_simulator_publishes_to_the_stack_broker(resolved: dict[str, Any]) -> None:
    """The simulator runs `smartpark simulate` against the mosquitto service."""
    command = resolved["services"]["simulator"]["command"]
    assert command[0] == "simulate"
    assert "mosquitto:1883" in command


def test_start_order_waits_for_health(resolved: dict[str, Any]) -> None:
    """Applications start only once the broker (and database) answer their healthchecks."""
    services = resolved["services"]
    for name in ("mosquitto", "influxdb"):
        assert services[name]["healthcheck"]["test"][0] == "CMD"
    assert services["collector"]["depends_on"] == {
        "mosquitto": {"condition": "service_healthy"},
        "influxdb": {"condition": "service_healthy"},
    }
    assert services["simulator"]["depends_on"]["mosquitto"] == {"condition": "service_healthy"}
    assert services["simulator"]["depends_on"]["collector"] == {"condition": "service_started"}


def test_both_applications_share_one_image(resolved: dict[str, Any]) -> None:
    """Collector and simulator are built from the repository's Dockerfile into one image."""
    services = resolved["services"]
    for name in ("collector", "simulator"):
        assert services[name]["build"]["context"] == str(ROOT)
        assert services[name]["image"] == "smartpark:local"


def test_every_setting_is_required() -> None:
    """Every ${INFLUXDB_...}/${MQTT_..._PASSWORD} reference is ${VAR:?message}: no default."""
    references = re.findall(r"\$\{(INFLUXDB_[A-Z_]+|MQTT_[A-Z_]+_PASSWORD)([^}]*)\}",
                            COMPOSE.read_text())
    assert {name for name, _ in references} == set(SECRETS)
    for name, rest in references:
        assert rest == f":?set {name} in .env (see deploy/influxdb.env.example)", name


def test_missing_token_stops_compose(tmp_path: Path) -> None:
    """With the token left empty, compose refuses the file and says what to do."""
    result = compose_config(tmp_path, {**SECRETS, "INFLUXDB_ADMIN_TOKEN": ""})
    assert result.returncode != 0
    assert "set INFLUXDB_ADMIN_TOKEN in .env (see deploy/influxdb.env.example)" in result.stderr


def test_env_example_holds_no_secret() -> None:
    """The example .env leaves the password and token empty for the user to choose."""
    values = dict(
        line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(SECRETS) <= set(values)
    assert values["INFLUXDB_PASSWORD"] == ""
    assert values["INFLUXDB_ADMIN_TOKEN"] == ""
    assert values["MQTT_COLLECTOR_PASSWORD"] == values["MQTT_SIMULATOR_PASSWORD"] == ""


def test_env_file_is_ignored_by_git_and_docker() -> None:
    """A filled-in .env can be neither committed nor copied into the image."""
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()


def test_mosquitto_conf_states_every_limit_explicitly() -> None:
    """Each limit the test broker uses (MOSQUITTO_LIMITS) is set to the same value."""
    settings = read_mosquitto_conf(MOSQUITTO_CONF.read_text())
    expected = read_mosquitto_conf(MOSQUITTO_LIMITS)
    assert "max_queued_messages" in expected
    for key, value in expected.items():
        assert settings.get(key) == value, key


def test_mosquitto_conf_keeps_sessions() -> None:
    """The broker listens on 1883 and persists sessions and queues to its data volume."""
    settings = read_mosquitto_conf(MOSQUITTO_CONF.read_text())
    assert "1883 0.0.0.0" in settings["listener"]
    assert settings["persistence"] == ["true"]
    assert settings["persistence_location"] == ["/mosquitto/data/"]
    assert int(settings["max_queued_messages"][0]) >= 100_000


def test_mosquitto_conf_is_accepted_by_mosquitto(tmp_path: Path) -> None:
    """Debian's mosquitto runs the shipped config (paths and ports moved to a temporary dir).

    tests/test_mosquitto_security.py checks what the config then enforces.
    """
    users = {"collector": SECRETS["MQTT_COLLECTOR_PASSWORD"],
             "simulator": SECRETS["MQTT_SIMULATOR_PASSWORD"]}
    with SecureMosquitto(tmp_path / "mosquitto", users=users) as broker:
        time.sleep(0.5)  # an unknown directive or a bad value makes mosquitto exit at once
        assert broker.process is not None
        assert broker.process.poll() is None
    output = (tmp_path / "mosquitto" / "server.log").read_text()
    assert not re.search(r"error", output, re.IGNORECASE), output


def test_dockerfile_runs_smartpark_as_a_user() -> None:
    """The image is python:3.11-slim, installs the package, and runs `smartpark` unprivileged."""
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users
    assert users[-1] not in {"root", "0"}
    assert 'ENTRYPOINT ["smartpark"]' in text
    for package in ("parkwire", "simulator", "collector", "smartpark"):
        assert f"COPY {package} ./{package}" in text
