"""Settings: PORT_OFFSET shifts every default port; explicit ports win; bad values are named."""

from __future__ import annotations

import pytest

from core.settings import DEFAULT_PORTS, ROOT, SettingsError, load_settings

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
    settings = load_settings(state_dir=".state/elsewhere", log_base_path=None)
    assert settings.state_dir == ROOT / ".state" / "elsewhere"
    assert settings.logs_dir == ROOT / ".state" / "elsewhere" / "logs"
    assert settings.run_dir == settings.state_dir / "run"


def test_urls_carry_the_credentials_and_ports() -> None:
    settings = load_settings(
        postgres_user="u",
        postgres_password="p",
        postgres_port=1,
        postgres_db="d",
        redis_port=2,
        redis_db=3,
    )
    assert settings.postgres_dsn == "postgresql://u:p@127.0.0.1:1/d"
    assert settings.sqlalchemy_url.startswith("postgresql+asyncpg://u:p@")
    assert settings.redis_url == "redis://127.0.0.1:2/3"


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("port_offset", 65000, "PORT_OFFSET"),
        ("api_port", 0, "API_PORT"),
        ("environment", "staging", "ENVIRONMENT"),
        ("debug", "api,worker,nope", "DEBUG"),
    ],
)
def test_bad_values_fail_with_the_setting_named(field: str, value: object, named: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(**{field: value})
    assert named in str(raised.value.code)


def test_debug_lists_components() -> None:
    assert load_settings(debug="api, worker").debug == {"api", "worker"}
    assert load_settings(debug="").debug == frozenset()
