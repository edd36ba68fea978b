"""Settings: PORT_OFFSET shifts every default port; explicit ports win; bad values are named."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from core.components import DEBUGGABLE
from core.settings import DEFAULT_PORTS, GENERATED_SECRETS, ROOT, SettingsError, load_settings
from scripts.credentials import ensure

pytestmark = pytest.mark.fast  # no server, no service: make test-fast runs it


def test_port_offset_shifts_every_default_port() -> None:
    base = load_settings(port_offset=0, **dict.fromkeys(DEFAULT_PORTS))
    shifted = load_settings(port_offset=100, **dict.fromkeys(DEFAULT_PORTS))
    for name, default in DEFAULT_PORTS.items():
        assert base.port(name) == default
        assert shifted.port(name) == default + 100


def test_an_explicit_port_wins_over_the_offset() -> None:
    settings = load_settings(port_offset=100, api_port=9999, postgres_port=None)
    assert (settings.api_port, settings.postgres_port) == (9999, 5532)


def test_paths_resolve_inside_the_checkout() -> None:
    settings = load_settings(state_dir=".state/elsewhere")
    assert settings.state_dir == ROOT / ".state" / "elsewhere"
    assert settings.logs_dir == ROOT / ".state" / "elsewhere" / "logs"  # part: logserver
    assert settings.run_dir == settings.state_dir / "run"


def test_urls_carry_the_credentials_and_ports() -> None:
    settings = load_settings(
        postgres_user="u",
        postgres_password="p/@:",
        postgres_port=1,
        postgres_db="d",
        redis_port=2,
        redis_db=3,
        redis_password="r@",
    )
    assert settings.postgres_dsn == "postgresql://u:p%2F%40%3A@127.0.0.1:1/d"
    assert settings.sqlalchemy_url.startswith("postgresql+asyncpg://u:p%2F%40%3A@")
    assert settings.redis_url == "redis://:r%40@127.0.0.1:2/3"
    assert settings.redis_db_url(1, masked=True) == "redis://:***@127.0.0.1:2/1"
    assert load_settings(redis_password="", redis_port=2).redis_db_url(0) == "redis://127.0.0.1:2/0"


def test_generated_secrets_are_private_and_read_by_the_settings(tmp_path: Path) -> None:
    unset = dict.fromkeys(GENERATED_SECRETS)
    settings, made = ensure(load_settings(state_dir=tmp_path / "state", **unset))
    assert made == list(GENERATED_SECRETS)
    assert stat.S_IMODE(settings.state_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(settings.secrets_dir.stat().st_mode) == 0o700
    again = load_settings(state_dir=tmp_path / "state", **unset)
    for name in GENERATED_SECRETS:
        assert stat.S_IMODE((settings.secrets_dir / name).stat().st_mode) == 0o600
        assert again.secret(name) == settings.secret(name) and len(again.secret(name) or "") > 30
    # A second run keeps them; a value set explicitly wins over its file.
    assert ensure(again)[1] == []
    assert (
        load_settings(state_dir=tmp_path / "state", redis_password="mine").secret("redis_password")
        == "mine"
    )


SECRETS = [
    "POSTGRES_PASSWORD",
    "LOGSERVER_TOKEN",  # part: logserver
    "FLOWER_PASSWORD",  # part: flower
]
# What production requires, each a placeholder here.
REQUIRED = {
    "postgres_password": "p",
    "logserver_token": "t",  # part: logserver
}


@pytest.mark.parametrize("name", SECRETS)
def test_a_placeholder_secret_is_refused_with_its_name(name: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(**{name.lower(): "CHANGE-ME"})
    message = str(raised.value.code)
    assert f"{name} is still CHANGE-ME" in message and "\n" not in message


@pytest.mark.parametrize("name", [name.upper() for name in REQUIRED])
def test_production_refuses_an_empty_secret(name: str) -> None:
    secrets = {**REQUIRED, name.lower(): ""}
    with pytest.raises(SettingsError) as raised:
        load_settings(environment="production", **secrets)
    assert f"{name} is empty" in str(raised.value.code)
    load_settings(environment="dev", **secrets)  # dev: an empty one means none


def test_docs_are_off_in_production_unless_turned_on() -> None:
    secrets = REQUIRED
    assert load_settings(environment="production", **secrets).api_docs is False
    assert load_settings(environment="production", api_docs=True, **secrets).api_docs is True
    assert load_settings(environment="dev").api_docs is True


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("port_offset", 65000, "PORT_OFFSET"),
        ("api_port", 0, "API_PORT"),
        ("environment", "staging", "ENVIRONMENT"),
        ("debug", "api,nope", "DEBUG"),
    ],
)
def test_bad_values_fail_with_the_setting_named(field: str, value: object, named: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(**{field: value})
    assert named in str(raised.value.code)


def test_debug_lists_components() -> None:
    assert load_settings(debug="api, api").debug == {"api"}
    both = ", ".join(DEBUGGABLE[:2])
    assert load_settings(debug=both).debug == set(DEBUGGABLE[:2])
    assert load_settings(debug="").debug == frozenset()
