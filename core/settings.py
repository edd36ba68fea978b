"""Project settings: one class, read from the environment and `.env` once, passed where needed."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.components import DEBUGGABLE, default_ports

ROOT = Path(__file__).resolve().parent.parent

# Default ports, from the component table; each is shifted by PORT_OFFSET unless set explicitly.
# Every one is a field below (a check after the class says so at import).
DEFAULT_PORTS = default_ports()

Port = Annotated[int, Field(ge=1, le=65535)]

# The secrets a checkout generates for its dev stack (`dev secrets`), one file each, named as the
# setting, in `<STATE_DIR>/secrets/` (0600 files in a 0700 folder). A value set in the
# environment or `.env` wins over its file.
GENERATED_SECRETS: tuple[str, ...] = (
    "postgres_password",
    "redis_password",
    "logserver_token",  # part: logserver
)
# Secrets the dev stack does not generate, refused all the same when left a placeholder.
OTHER_SECRETS: tuple[str, ...] = (
    "flower_password",  # part: flower
)
SECRETS_FOLDER = "secrets"
# What an example file holds where a real secret must go; production refuses it.
PLACEHOLDER = "CHANGE-ME"


class Settings(BaseSettings):
    """Every port, path, URL and secret of the stack. Field names are the env variable names."""

    model_config = SettingsConfigDict(
        env_file=ROOT / ".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    environment: Literal["dev", "test", "production"] = "dev"
    port_offset: int = Field(0, ge=0, le=60000)
    bind_host: str = "127.0.0.1"
    state_dir: Path = ROOT / ".state"
    # Where the dev stack's Postgres and Valkey come from: uv.lock's wheels, or the PATH (the Nix
    # shell sets `path`: manylinux wheels do not run on NixOS). scripts/servers.py.
    dev_servers: Literal["lock", "path"] = "lock"

    api_port: Port | None = None
    api_workers: int = Field(1, ge=1, le=64)
    api_reload: bool = True
    # The production server (dev's auto-reload and the debugger always use uvicorn).
    api_server: Literal["granian", "uvicorn"] = "granian"
    # FastAPI's native OpenTelemetry metrics and logs (to the globally configured providers), and
    # its server spans even with TRACING off. Off: on, it checks the providers on every request.
    api_telemetry: bool = False

    # Tracing (core.tracing): the api, worker and beat send spans by OTLP/HTTP to
    # OTEL_EXPORTER_OTLP_ENDPOINT (the SDK reads that and the other standard OTEL_* variables
    # itself). Unset: on when an OTLP endpoint is configured. TRACING_SAMPLE_RATIO: the share of
    # new traces kept (a task follows its request's).
    # `make dev` points the endpoint at the log server.  # part: logserver
    tracing: bool | None = None
    tracing_sample_ratio: float = Field(1.0, ge=0.0, le=1.0)
    # Read only to tell whether an endpoint is configured (OTEL_* excepted from "one class").
    otel_exporter_otlp_endpoint: str | None = None
    otel_exporter_otlp_traces_endpoint: str | None = None
    # A request body over this gets a 413 before it is read whole.
    api_max_body_bytes: int = Field(1024 * 1024, ge=1)

    postgres_host: str = "127.0.0.1"
    postgres_port: Port | None = None
    postgres_user: str = Field("app", min_length=1)
    # Unset: `<STATE_DIR>/secrets/postgres_password` when there is one, else no password.
    postgres_password: SecretStr | None = None
    postgres_db: str = Field("app", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    postgres_pool_max: int = Field(10, ge=1, le=1000)

    redis_host: str = "127.0.0.1"
    redis_port: Port | None = None
    # In every Redis URL (app, Celery broker and results, probes). Unset: the secret file, if any.
    redis_password: SecretStr | None = None
    redis_db: int = Field(0, ge=0, le=15)
    redis_pool_max: int = Field(32, ge=1, le=10000)

    # part: logserver
    # Log collection: the TCP log server and the handler every process logs through.
    logserver_host: str = "127.0.0.1"
    logserver_port: Port | None = None
    logserver_enabled: bool = True
    logserver_token: SecretStr | None = None
    log_base_path: Path | None = None
    log_rotate_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    log_retention_days: int = Field(14, ge=1)
    # end part: logserver
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # The dev echo: each component writes its records readably to its own stderr (its
    # process-compose pane), besides the log server if any. Unset: on when ENVIRONMENT=dev.
    # Colour: auto (on a terminal).
    log_echo: bool | None = None
    log_color: Literal["auto", "always", "never"] = "auto"
    # part: logserver
    # The log server under abuse: a connection idle this long is closed, connections past the
    # cap are refused, and a sender id past the cap of tracked senders is refused.
    logserver_idle_seconds: float = Field(300.0, gt=0)
    logserver_max_connections: int = Field(256, ge=1)
    logserver_max_senders: int = Field(10_000, ge=1)
    # end part: logserver

    # part: background
    # Background work: Celery on Redis (broker and results in their own Redis databases).
    celery_broker_db: int = Field(1, ge=0, le=15)
    celery_result_db: int = Field(2, ge=0, le=15)
    worker_concurrency: int = Field(2, ge=1, le=64)
    # part: flower
    flower_user: str | None = None
    flower_password: SecretStr | None = None
    # end part: flower
    # end part: background

    # /docs, /redoc and /openapi.json: on, but off in production unless this turns them on.
    api_docs: bool | None = None

    flower_port: Port | None = None  # part: flower
    process_compose_port: Port | None = None
    debug_port_api: Port | None = None
    debug_port_worker: Port | None = None  # part: background
    debug_port_beat: Port | None = None  # part: background
    debug_port_logserver: Port | None = None  # part: logserver

    # Components to start under debugpy inside the stack, e.g. DEBUG=api,worker (DEBUGGABLE).
    debug: Annotated[frozenset[str], NoDecode] = frozenset()

    @field_validator("debug", mode="before")
    @classmethod
    def _split_components(cls, value: object) -> object:
        if isinstance(value, str):
            value = {name.strip() for name in value.split(",") if name.strip()}
        unknown = set(value) - set(DEBUGGABLE) if isinstance(value, set | frozenset) else set()
        if unknown:
            raise ValueError(f"unknown component(s) {sorted(unknown)}; choose from {DEBUGGABLE}")
        return value

    @field_validator(
        "state_dir",
        "log_base_path",  # part: logserver
    )
    @classmethod
    def _absolute_path(cls, value: Path | None) -> Path | None:
        return value if value is None or value.is_absolute() else (ROOT / value).resolve()

    @model_validator(mode="after")
    def _shift_default_ports(self) -> Settings:
        for name, base in DEFAULT_PORTS.items():
            if getattr(self, name) is None:
                port = base + self.port_offset
                if port > 65535:
                    raise ValueError(f"PORT_OFFSET={self.port_offset} moves {name} past 65535")
                object.__setattr__(self, name, port)
        # part: logserver
        if self.log_base_path is None:
            object.__setattr__(self, "log_base_path", self.state_dir / "logs")
        # end part: logserver
        if self.log_echo is None:
            object.__setattr__(self, "log_echo", self.environment == "dev")
        if self.api_docs is None:
            object.__setattr__(self, "api_docs", self.environment != "production")
        if self.tracing is None:
            endpoint = self.otel_exporter_otlp_traces_endpoint or self.otel_exporter_otlp_endpoint
            object.__setattr__(self, "tracing", bool(endpoint))
        return self

    @model_validator(mode="after")
    def _read_generated_secrets(self) -> Settings:
        """Each generated secret left unset is read from its file under the state dir."""
        for name in GENERATED_SECRETS:
            if getattr(self, name) is None:
                value = read_secret(self.secrets_dir / name)
                if value is not None:
                    object.__setattr__(self, name, SecretStr(value))
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        """In production a secret is required where the stack needs one, and never a
        placeholder; anywhere, a placeholder is refused."""
        required = (
            "postgres_password",
            "logserver_token",  # part: logserver
        )
        for name in (*GENERATED_SECRETS, *OTHER_SECRETS):
            value = self.secret(name)
            if value is not None and PLACEHOLDER in value:
                raise ValueError(f"{name.upper()} is still {PLACEHOLDER}: set a secret of your own")
            if self.environment == "production" and name in required and not value:
                raise ValueError(f"{name.upper()} is empty: production needs a secret")
        return self

    def secret(self, name: str) -> str | None:
        """The secret setting `name` in clear; None when unset or empty."""
        value = getattr(self, name)
        assert value is None or isinstance(value, SecretStr)
        return value.get_secret_value() or None if value is not None else None

    @property
    def secrets_dir(self) -> Path:
        """Where `dev secrets` writes the generated secrets (GENERATED_SECRETS)."""
        return self.state_dir / SECRETS_FOLDER

    def port(self, name: str) -> int:
        """The resolved port `name` (a key of DEFAULT_PORTS)."""
        value = getattr(self, name)
        assert isinstance(value, int)
        return value

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def postgres_dsn(self) -> str:
        """libpq/asyncpg URL of the application database."""
        password = self.secret("postgres_password")
        login = quote(self.postgres_user, safe="")
        if password is not None:
            login += ":" + quote(password, safe="")
        return f"postgresql://{login}@{self.postgres_host}:{self.postgres_port}/{self.postgres_db}"

    @property
    def sqlalchemy_url(self) -> str:
        return self.postgres_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)

    @property
    def redis_url(self) -> str:
        return self.redis_db_url(self.redis_db)

    def redis_db_url(self, db: int, *, masked: bool = False) -> str:
        """The URL of Redis database `db`, with REDIS_PASSWORD (`***` when `masked`: to show)."""
        password = self.secret("redis_password")
        login = ""
        if password is not None:
            login = ":" + ("***" if masked else quote(password, safe="")) + "@"
        return f"redis://{login}{self.redis_host}:{self.redis_port}/{db}"

    # part: logserver
    @property
    def logserver_token_value(self) -> str | None:
        """LOGSERVER_TOKEN in clear, None when unset or empty (no token required)."""
        return self.secret("logserver_token")

    @property
    def logs_dir(self) -> Path:
        """LOG_BASE_PATH, resolved (the state dir's `logs/` by default)."""
        assert self.log_base_path is not None
        return self.log_base_path

    # end part: logserver


_unset = set(DEFAULT_PORTS) - set(Settings.model_fields)
assert not _unset, f"core/components.py names port settings Settings lacks: {sorted(_unset)}"


def read_secret(path: Path) -> str | None:
    """A secret file's first line; None when there is no such file or it is empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return text.strip() or None


class SettingsError(SystemExit):
    """A wrong setting: exits with one line naming the setting and what is wrong."""


def describe(error: ValidationError) -> str:
    """One line per problem: `SETTING: what is wrong (got value)`."""
    lines = []
    for problem in error.errors():
        if not problem["loc"]:  # a check of the whole: its message names the setting
            lines.append(str(problem["msg"]).removeprefix("Value error, "))
            continue
        name = "_".join(str(part) for part in problem["loc"]).upper()
        got = f" (got {problem['input']!r})" if problem["type"] != "missing" else ""
        lines.append(f"{name}: {problem['msg']}{got}")
    return "; ".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and `.env`; a bad value raises SettingsError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(f"error: invalid settings: {describe(error)}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return load_settings()
