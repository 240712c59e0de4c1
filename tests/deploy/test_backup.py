"""`demixer backup` / `demixer restore`, run as the commands they are, each in a child process
pointed at one instance: a backup of an instance with a user, a track and a finished job's stems,
restored into a fresh data folder and database, gives back every user, track and stem (rows
and file contents)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.services import PG_URL
from tests.web.test_postgres import postgres_unreachable

pytestmark = pytest.mark.slow  # child processes: each migrates, seeds, backs up or restores

ROOT = Path(__file__).resolve().parents[2]
INSTANCE = Path(__file__).with_name("instance.py")


def instance_env(data: Path, database_url: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEMIXER_", "DATABASE_URL"))}
    return {
        **env,
        "PYTHONPATH": str(ROOT),
        "DEMIXER_DATA_DIR": str(data),
        "DEMIXER_MODELS_DIR": str(data / "models"),
        "DATABASE_URL": database_url,
    }


def run(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def demixer(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    return run(env, "-m", "demixer.cli", *args, ok=ok)


def backup_and_restore(tmp_path: Path, source_db: str = "", target_db: str = "") -> None:
    source = instance_env(tmp_path / "source", source_db)
    demixer(source, "manage", "migrate", "--noinput", "-v0")
    seeded = json.loads(run(source, str(INSTANCE), "seed").stdout)
    assert len(seeded["users"]) == 1 and len(seeded["tracks"]) == 1 and len(seeded["stems"]) == 4

    demixer(source, "backup", str(tmp_path / "backup"))
    assert (tmp_path / "backup" / "demixer-backup.json").exists()

    target = instance_env(tmp_path / "target", target_db)
    demixer(target, "restore", str(tmp_path / "backup"))
    assert json.loads(run(target, str(INSTANCE), "contents").stdout) == seeded
    media = list((tmp_path / "target" / "media").rglob("*.*"))
    assert len(media) == 1 + 4 * 2  # the original, each stem's master and preview

    # the restored instance is now not empty: a second restore is refused, and loses nothing
    again = demixer(target, "restore", str(tmp_path / "backup"), ok=False)
    assert again.returncode == 2
    assert "not empty" in again.stderr and "--force" in again.stderr
    assert json.loads(run(target, str(INSTANCE), "contents").stdout) == seeded
    demixer(target, "restore", "--force", str(tmp_path / "backup"))
    assert json.loads(run(target, str(INSTANCE), "contents").stdout) == seeded


def test_backup_restore_on_sqlite(tmp_path: Path) -> None:
    backup_and_restore(tmp_path)


def test_backup_refuses_a_non_empty_folder_and_restore_a_partial_backup(tmp_path: Path) -> None:
    env = instance_env(tmp_path / "site")
    demixer(env, "manage", "migrate", "--noinput", "-v0")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("mine")
    refused = demixer(env, "backup", str(tmp_path / "full"), ok=False)
    assert refused.returncode == 2 and "not empty" in refused.stderr
    assert (tmp_path / "full" / "something").read_text() == "mine"

    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "db.sqlite3").write_bytes(b"")
    fresh = instance_env(tmp_path / "fresh")
    refused = demixer(fresh, "restore", str(tmp_path / "partial"), ok=False)
    assert refused.returncode == 2 and "not a (complete) backup" in refused.stderr


def test_restore_refuses_another_kind_of_database(tmp_path: Path) -> None:
    env = instance_env(tmp_path / "site")
    demixer(env, "manage", "migrate", "--noinput", "-v0")
    demixer(env, "backup", str(tmp_path / "backup"))
    manifest = tmp_path / "backup" / "demixer-backup.json"
    manifest.write_text(manifest.read_text().replace('"sqlite"', '"postgresql"'))
    refused = demixer(
        instance_env(tmp_path / "fresh"), "restore", str(tmp_path / "backup"), ok=False
    )
    assert refused.returncode == 2 and "same kind of database" in refused.stderr


def test_postgres_backup_says_when_pg_dump_is_missing(tmp_path: Path) -> None:
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    env = instance_env(tmp_path / "site", PG_URL)
    env["PATH"] = str(Path(sys.executable).parent)  # python, without PostgreSQL's client tools
    refused = demixer(env, "backup", str(tmp_path / "backup"), ok=False)
    assert refused.returncode == 2
    assert "pg_dump is missing" in refused.stderr and "postgresql-client" in refused.stderr


def test_backup_restore_on_postgresql(tmp_path: Path) -> None:
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    import psycopg

    server = PG_URL.rsplit("/", 1)[0]
    names = [f"demixer_backup_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        backup_and_restore(tmp_path, f"{server}/{names[0]}", f"{server}/{names[1]}")
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
