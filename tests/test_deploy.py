"""The deployment files agree with the app: compose, .env.example and the Dockerfile.

No Docker engine runs here, so these read the files and build the app with the
environment compose would give it.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from careteam import PLAIN_ENV, create_app
from careteam.config import Config

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("web", "worker", "beat", "migrate")
# Long-running services whose readiness others wait for.
HEALTHCHECKED = ("db", "redis", "mailcatcher", "web", "worker")
REQUIRED_IN_PRODUCTION = (
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "SMTP_HOST",
    "SMTP_PORT",
    "BASE_URL",
)
COMPOSE_ONLY_VARS = {"POSTGRES_PASSWORD", "WEB_PORT"}
VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
ENV_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*(?:__\w+)?)=")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Substitute ${VAR}, ${VAR:-default} and ${VAR:?message} as compose does."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        current = env.get(name)
        # With a colon (":-", ":?"), an empty value counts as unset.
        unset = current is None or (not current and (operator or "").startswith(":"))
        if operator is None or not unset:
            return current or ""
        if operator.endswith("?"):
            raise KeyError(f"{name}: {argument}")
        return argument

    return VARIABLE.sub(substitute, value).replace("$$", "$")


def command_words(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else [str(word) for word in command]


def config_key(env_name: str) -> str:
    """The Config attribute a CARETEAM_ variable sets (nested keys name their parent)."""
    return env_name.removeprefix("CARETEAM_").split("__", 1)[0]


def is_read_by_app(name: str) -> bool:
    if name in PLAIN_ENV or name.startswith("FLASK_"):
        return True
    return name.startswith("CARETEAM_") and hasattr(Config, config_key(name))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict[str, dict]:
    return compose["services"]


@pytest.fixture(scope="module")
def app_env(services: dict[str, dict]) -> dict[str, str]:
    """The web environment with compose's defaults filled in and a test secret."""
    raw = services["web"]["environment"]
    values = {"SECRET_KEY": "test-secret-key-for-compose-environment"}
    return {name: interpolate(str(value), values) for name, value in raw.items()}


def test_required_services_exist(services: dict[str, dict]) -> None:
    expected = {"db", "redis", "web", "worker", "beat", "mailcatcher", "migrate"}
    assert expected <= services.keys()


@pytest.mark.parametrize(("service", "image"), [("db", "postgres:15"), ("redis", "redis:7")])
def test_backing_service_images(services: dict[str, dict], service: str, image: str) -> None:
    assert services[service]["image"].startswith(image)


def test_app_services_run_one_image(services: dict[str, dict]) -> None:
    images = {services[name].get("image") for name in APP_SERVICES}
    assert len(images) == 1
    assert services["web"]["build"] == "."


def test_web_runs_gunicorn(services: dict[str, dict]) -> None:
    words = command_words(services["web"])
    assert words[0] == "gunicorn"
    assert "wsgi:app" in words
    assert any(word.endswith("0.0.0.0:8000") for word in words)


def test_migrate_upgrades_the_database_once(services: dict[str, dict]) -> None:
    assert command_words(services["migrate"]) == ["flask", "--app", "wsgi", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"


def test_worker_runs_celery_worker(services: dict[str, dict]) -> None:
    assert command_words(services["worker"])[:4] == ["celery", "-A", "worker", "worker"]


def test_beat_runs_celery_beat_once(services: dict[str, dict]) -> None:
    assert command_words(services["beat"])[:4] == ["celery", "-A", "worker", "beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) <= 1


@pytest.mark.parametrize("name", (*APP_SERVICES, "mailcatcher"))
def test_scalable_services_have_no_fixed_name(services: dict[str, dict], name: str) -> None:
    assert "container_name" not in services[name]


@pytest.mark.parametrize("name", HEALTHCHECKED)
def test_long_running_services_have_healthchecks(services: dict[str, dict], name: str) -> None:
    assert services[name]["healthcheck"]["test"]


def test_dependencies_wait_for_health_or_completion(services: dict[str, dict]) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: a list only waits for containers to start"
        for dependency, spec in depends_on.items():
            expected = (
                "service_completed_successfully" if dependency == "migrate" else "service_healthy"
            )
            assert spec["condition"] == expected, f"{name} -> {dependency}"
            if expected == "service_healthy":
                assert "healthcheck" in services[dependency], dependency
    for name in ("web", "worker", "beat"):
        assert "migrate" in services[name]["depends_on"]
        assert "redis" in services[name]["depends_on"]


def test_app_services_share_one_environment(services: dict[str, dict]) -> None:
    environments = [services[name]["environment"] for name in APP_SERVICES]
    assert all(environment == environments[0] for environment in environments)


def test_app_environment_names_are_read_by_the_app(services: dict[str, dict]) -> None:
    unknown = [name for name in services["web"]["environment"] if not is_read_by_app(name)]
    assert unknown == []


def test_production_settings_are_all_set(app_env: dict[str, str]) -> None:
    missing = [name for name in REQUIRED_IN_PRODUCTION if not app_env.get(name)]
    assert missing == []


def test_secret_key_has_no_default(services: dict[str, dict]) -> None:
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", services["web"]["environment"]["SECRET_KEY"])


def test_database_url_points_at_the_db_service(
    services: dict[str, dict], app_env: dict[str, str]
) -> None:
    url = urlsplit(app_env["DATABASE_URL"])
    db_env = {name: interpolate(str(v), {}) for name, v in services["db"]["environment"].items()}
    assert url.scheme == "postgresql"
    assert url.hostname == "db"
    assert url.port == 5432
    assert url.path == "/" + db_env["POSTGRES_DB"]
    assert url.username == db_env["POSTGRES_USER"]
    assert url.password == db_env["POSTGRES_PASSWORD"]


def test_redis_url_points_at_the_redis_service(app_env: dict[str, str]) -> None:
    url = urlsplit(app_env["REDIS_URL"])
    assert (url.scheme, url.hostname) == ("redis", "redis")


def test_mail_goes_to_the_mail_catcher(services: dict[str, dict], app_env: dict[str, str]) -> None:
    assert app_env["SMTP_HOST"] == "mailcatcher"
    assert app_env["SMTP_PORT"] in {str(port) for port in services["mailcatcher"]["expose"]}


def env_example_names() -> list[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return [match.group(1) for line in lines if (match := ENV_LINE.match(line))]


def test_env_example_names_are_read_by_app_or_compose() -> None:
    names = env_example_names()
    assert names
    unknown = [name for name in names if not (is_read_by_app(name) or name in COMPOSE_ONLY_VARS)]
    assert unknown == []


def test_env_example_documents_every_plain_variable() -> None:
    names = set(env_example_names())
    assert set(PLAIN_ENV) | COMPOSE_ONLY_VARS | {"FLASK_DEBUG"} <= names


def test_compose_environment_builds_a_production_app(
    monkeypatch: pytest.MonkeyPatch, app_env: dict[str, str]
) -> None:
    for name in list(os.environ):
        if name in PLAIN_ENV or name.startswith(("CARETEAM_", "FLASK_")):
            monkeypatch.delenv(name)
    for name, value in app_env.items():
        monkeypatch.setenv(name, value)

    app = create_app()

    assert not app.debug and not app.testing
    uri = urlsplit(app.config["SQLALCHEMY_DATABASE_URI"])
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://careteam")
    assert uri.hostname == "db"
    assert app.config["CELERY"]["broker_url"] == app_env["REDIS_URL"]
    assert (app.config["MAIL_SERVER"], app.config["MAIL_PORT"]) == ("mailcatcher", 1025)
    assert app.config["BASE_URL"] == app_env["BASE_URL"]
    # The compose stack serves plain HTTP; Secure cookies would not survive it.
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_compose_requires_a_secret_key(services: dict[str, dict]) -> None:
    with pytest.raises(KeyError, match="SECRET_KEY"):
        interpolate(services["web"]["environment"]["SECRET_KEY"], {})


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def dockerfile_arguments(instruction: str) -> list[str]:
    return [argument for name, argument in dockerfile_instructions() if name == instruction]


def test_dockerfile_runs_as_non_root() -> None:
    users = dockerfile_arguments("USER")
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_dockerfile_serves_with_gunicorn() -> None:
    commands = dockerfile_arguments("CMD")
    assert "gunicorn" in commands[-1]
    assert "wsgi:app" in commands[-1]


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.split("[", 1)[0].strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_constraints_pin_every_dependency_at_the_projects_version() -> None:
    """constraints.txt holds the indirect dependencies too; it must agree with pyproject."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    direct = _pins(project["dependencies"] + project["optional-dependencies"]["test"])
    constraints = _pins((ROOT / "constraints.txt").read_text().splitlines())
    assert {name: constraints.get(name) for name in direct} == direct
    # Indirect ones are pinned too (Werkzeug, Jinja2... come with Flask).
    assert {"werkzeug", "jinja2", "itsdangerous", "click", "kombu"} <= constraints.keys()
    installs = [a for a in dockerfile_arguments("RUN") if "pip install" in a and " -r " in a]
    assert installs and all("-c constraints.txt" in a for a in installs)
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text()
