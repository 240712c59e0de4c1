"""compose.yaml, compose.s3.yaml and .env.example agree with the image and the settings: valid
YAML, the roles run the commands the Containerfile documents, and every variable given to the
app is one that demixer reads."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = {"migrate", "models", "web", "worker"}
# read by compose itself (interpolation) or by another image, never by demixer
COMPOSE_ONLY = {
    "POSTGRES_PASSWORD",
    "DEMIXER_IMAGE",
    "DEMIXER_BIND",
    "DEMIXER_HTTP_PORT",
    "DEMIXER_DOMAIN",
}


def compose(name: str = "compose.yaml") -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def names_demixer_reads() -> set[str]:
    """Every variable name that demixer's code reads from the environment."""
    pattern = re.compile(r"\b(?:getenv|env(?:bool|int|float|list))\(\s*\"([A-Z][A-Z0-9_]*)\"")
    names: set[str] = set()
    for path in (ROOT / "demixer").rglob("*.py"):
        names |= set(pattern.findall(path.read_text()))
    return names


def env_example_names() -> list[str]:
    names = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        if m := re.match(r"^#?\s?([A-Z][A-Z0-9_]*)=", line):
            names.append(m.group(1))
    return names


def containerfile_roles() -> set[tuple[str, ...]]:
    """The commands the Containerfile's header lists, and its CMD."""
    text = (ROOT / "Containerfile").read_text()
    roles = {
        tuple(m.split()) for m in re.findall(r"^#\s+(demixer [a-z-]+(?: [a-z-]+)*)", text, re.M)
    }
    cmd = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert cmd, "the Containerfile has no CMD"
    roles.add(tuple(yaml.safe_load(cmd.group(1))))
    return roles


def test_app_services_run_the_image_roles() -> None:
    services = compose()["services"]
    roles = containerfile_roles()
    assert services.keys() >= APP_SERVICES
    for name in APP_SERVICES:
        command = tuple(services[name]["command"])
        assert command in roles, f"{name}: {command} is not a role the Containerfile lists"
        assert services[name]["image"] == "${DEMIXER_IMAGE:-demixer:latest}"
        assert services[name]["build"]["dockerfile"] == "Containerfile"
    assert tuple(services["web"]["command"]) == ("demixer", "web")
    assert ("demixer", "web") in roles and ("demixer", "worker") in roles


def test_the_roles_are_commands_demixer_knows() -> None:
    from demixer import cli

    known = set(cli.WEB_COMMANDS) | set(cli.DATA_COMMANDS) | {"fetch-models"}
    for role in containerfile_roles():
        assert role[0] == "demixer" and role[1] in known, role


def test_worker_stop_grace_outlasts_the_supervisor() -> None:
    from demixer.config import serve

    grace = compose()["services"]["worker"]["stop_grace_period"]
    seconds = int(re.fullmatch(r"(\d+)s", grace).group(1))
    assert seconds > serve.GRACE_SECONDS


def test_one_shot_steps_do_not_restart_and_the_rest_do() -> None:
    services = compose()["services"]
    for name, service in services.items():
        expected = "no" if name in {"migrate", "models"} else "unless-stopped"
        assert service["restart"] == expected, name
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def test_media_and_models_are_volumes_at_the_images_folders() -> None:
    text = (ROOT / "Containerfile").read_text()
    assert "DEMIXER_DATA_DIR=/data" in text and "DEMIXER_MODELS_DIR=/models" in text
    for name in APP_SERVICES:
        assert set(compose()["services"][name]["volumes"]) == {"data:/data", "models:/models"}


def test_every_variable_given_to_the_app_is_one_it_reads() -> None:
    reads = names_demixer_reads()
    for path in ("compose.yaml", "compose.s3.yaml"):
        for name, service in compose(path)["services"].items():
            if name in APP_SERVICES:
                unknown = set(service.get("environment", {})) - reads
                assert not unknown, f"{path} {name}: demixer reads no {sorted(unknown)}"


def test_env_example_names_are_read_by_demixer_or_by_compose() -> None:
    reads = names_demixer_reads()
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "compose.yaml").read_text()))
    names = env_example_names()
    assert {"DEMIXER_SECRET_KEY", "DEMIXER_ALLOWED_HOSTS", "DEMIXER_SITE_URL"} <= set(names)
    assert {"EMAIL_HOST", "DEMIXER_FROM_EMAIL"} <= set(names)
    for name in names:
        if name in COMPOSE_ONLY:
            assert name in interpolated, f"{name} is compose-only but compose.yaml never uses it"
        else:
            assert name in reads, f".env.example sets {name}, which demixer never reads"


def test_the_checker_sees_a_misspelt_name() -> None:
    """The name check is not vacuous: the settings' own names are found, a made-up one not."""
    reads = names_demixer_reads()
    assert {"DEMIXER_SECRET_KEY", "DATABASE_URL", "DEMIXER_HOST", "EMAIL_USE_TLS"} <= reads
    assert "DEMIXER_SECRETKEY" not in reads
