"""docker-compose.yml and the Dockerfile, checked without a Docker engine: the file is interpolated the
way `docker compose` does (``${VAR:?}`` stops it when VAR is missing), validated against the compose
specification (the compose-spec parser, merge keys applied), and every command that runs our image
(services and health checks, and the Dockerfile's default) must parse with the real `videoqa` CLI."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from videoqa_cli.main import build_parser
from video_qa.config import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
SECRETS = {"POSTGRES_PASSWORD": "pg-secret", "REDIS_PASSWORD": "redis-secret", "VIDEOQA_AUTH": "ana:s3cret"}
VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class Missing(Exception):
    pass


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution: ${V}, ${V:-default}, ${V-default}, ${V:?error}, ${V?error}, $V, $$."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        op, arg = match.group(2), match.group(3)
        value = env.get(name)
        unset_or_empty = value is None or (value == "" and op is not None and op.startswith(":"))
        if op in (":?", "?") and unset_or_empty:
            raise Missing(f"{name}: {arg}")
        if op in (":-", "-") and unset_or_empty:
            return arg
        return value or ""

    return VAR.sub(one, text)


def load(env: dict[str, str]) -> dict[str, Any]:
    from compose_spec import PyOptions

    text = interpolate(COMPOSE.read_text(), env)
    PyOptions(apply_merge=True).from_yaml(text).validate()  # raises ValueError naming the bad key
    return yaml.safe_load(text)


def parse_videoqa(argv: list[str]) -> argparse.Namespace:
    """Parse as `videoqa ARGV` would; a wrong subcommand or option fails the test (argparse exits)."""
    try:
        return build_parser().parse_args(argv)
    except SystemExit as error:
        raise AssertionError(f"not a valid videoqa command line: {argv}") from error


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(SECRETS)


def test_the_file_is_valid_compose_with_the_whole_topology(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker-cpu", "worker-gpu"}
    assert all("healthcheck" in services[s] for s in ("postgres", "redis", "web", "worker-cpu", "worker-gpu"))
    for name in ("web", "worker-cpu", "worker-gpu"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    gpu = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["driver"] == "nvidia" and gpu["capabilities"] == ["gpu"]
    # every named volume a service mounts is declared
    declared = set(compose["volumes"])
    for service in services.values():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, source


def test_a_missing_secret_stops_compose(compose: dict[str, Any]) -> None:
    for name in SECRETS:
        with pytest.raises(Missing, match=name):
            load({k: v for k, v in SECRETS.items() if k != name})
    assert "pg-secret" in compose["services"]["web"]["environment"]["VIDEOQA_DATABASE_URL"]


def test_every_command_is_a_real_videoqa_command_line(compose: dict[str, Any]) -> None:
    ours = {name: s for name, s in compose["services"].items() if s.get("image", "").startswith("videoqa")}
    assert set(ours) == {"migrate", "web", "worker-cpu", "worker-gpu"}
    commands = {name: parse_videoqa(s["command"]) for name, s in ours.items()}
    assert commands["migrate"].command == "migrate" and commands["migrate"].wait > 0
    assert commands["web"].command == "serve" and commands["web"].no_worker
    assert (commands["worker-cpu"].command, commands["worker-cpu"].queues) == ("worker", "cpu")
    assert (commands["worker-gpu"].command, commands["worker-gpu"].queues) == ("worker", "gpu")
    for name in ("worker-cpu", "worker-gpu"):
        test = ours[name]["healthcheck"]["test"]
        assert test[:2] == ["CMD", "videoqa"]
        check = parse_videoqa(test[2:])
        assert check.command == "workers" and check.queue == name.split("-")[1]
    # the Dockerfile's entry point is videoqa and its default command is a real one
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r'^ENTRYPOINT \["videoqa"\]$', dockerfile, re.M)
    default = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert default and parse_videoqa(yaml.safe_load(default.group(1))).command == "serve"


def test_every_videoqa_variable_is_a_real_setting(compose: dict[str, Any]) -> None:
    fields = {f"VIDEOQA_{name.upper()}" for name in Settings.model_fields}
    used = {key for s in compose["services"].values() for key in (s.get("environment") or {})
            if key.startswith("VIDEOQA_")}
    assert used and used <= fields, used - fields
    for service in ("web", "worker-cpu", "worker-gpu", "migrate"):
        env = compose["services"][service]["environment"]
        assert env["VIDEOQA_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["VIDEOQA_BROKER_URL"].startswith("redis://")


def test_the_dockerfile_installs_what_the_app_needs() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "ffmpeg" in dockerfile and 'torch==2.14.1' in dockerfile
    for package in ("video_qa", "model", "workers", "web", "migrations"):
        assert f"COPY {package} ./{package}" in dockerfile


def test_the_validator_rejects_what_compose_rejects() -> None:
    from compose_spec import PyOptions

    good = interpolate(COMPOSE.read_text(), SECRETS)
    bad = good.replace("stop_grace_period: 60s", "stop_grace_periodd: 60s")  # in the anchor merged into services
    assert bad != good
    with pytest.raises(ValueError, match="stop_grace_periodd"):
        PyOptions(apply_merge=True).from_yaml(bad)


def test_the_web_app_needs_no_gpu_and_sends_questions_to_the_gpu_worker(compose: dict[str, Any]) -> None:
    """The web service reserves no GPU; it has the same model setting as the GPU worker and a broker
    server, so its asks go to the gpu queue (``answers_remotely``) instead of loading the model."""
    from video_qa.services.questions import answers_remotely

    services = compose["services"]
    assert "deploy" not in services["web"] and "VIDEOQA_DEVICE" not in services["web"]["environment"]
    web_env, gpu_env = services["web"]["environment"], services["worker-gpu"]["environment"]
    assert web_env["VIDEOQA_VLM_MODEL"] == gpu_env["VIDEOQA_VLM_MODEL"] == "auto"
    web = Settings(vlm_model=web_env["VIDEOQA_VLM_MODEL"], broker_url=web_env["VIDEOQA_BROKER_URL"])
    assert answers_remotely(web)
    assert parse_videoqa(services["worker-gpu"]["command"]).queues == "gpu"
    operations = (REPO / "docs" / "operations.md").read_text()
    assert "no GPU: it sends questions to `worker-gpu`" in operations
    assert "answers to questions (`ask`)" in operations
