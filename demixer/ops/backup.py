"""``demixer backup DIR`` / ``demixer restore DIR``: the database and the media folder.

A backup is taken while the site runs: the database first (SQLite's online backup API, or
``pg_dump`` for PostgreSQL), then the files. Files are written before the rows that name them
and deleted after those rows go, so every file a row in the copy names was already on disk when
the files were copied. The manifest is written last: a folder without one is an interrupted
backup, and ``restore`` refuses it. ``restore`` fills an empty database and media folder (or,
with ``--force``, replaces the database and writes over the files); the site should be stopped
while it runs, and started again afterwards (migrations run on start).

Uploads and stems kept in an object store (``DEMIXER_S3_BUCKET``) are not copied: the store's
own versioning or replication keeps them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MANIFEST = "demixer-backup.json"
FORMAT = 1
SQLITE_FILE = "db.sqlite3"
PG_FILE = "db.pgdump"  # pg_dump's custom format: compressed, restored by pg_restore
EXIT_ERROR = 2


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why in one line."""


def main(argv: list[str]) -> int:
    """``argv``: ``["backup", DIR, ...]`` or ``["restore", DIR, ...]``."""
    args = _parser().parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demixer.config.settings")
    import django

    django.setup()
    try:
        if args.command == "backup":
            backup(args.dir, models=args.models)
        else:
            restore(args.dir, force=args.force, models=args.models)
    except BackupError as exc:
        print(f"demixer {args.command}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="demixer")
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("backup", help="copy the database and the media folder into DIR")
    make.add_argument("dir", type=Path, metavar="DIR", help="a new or empty folder")
    make.add_argument("--models", action="store_true", help="copy the models folder too")
    back = sub.add_parser("restore", help="restore a backup into this instance")
    back.add_argument("dir", type=Path, metavar="DIR", help="a folder made by `demixer backup`")
    back.add_argument(
        "--force", action="store_true", help="replace a database and media that are not empty"
    )
    back.add_argument("--models", action="store_true", help="restore the models folder too")
    return parser


def backup(target: Path, *, models: bool = False) -> dict[str, Any]:
    """Write a backup of this instance into ``target`` (new or empty); return its manifest."""
    from django.conf import settings

    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty; give a new or empty folder")
    target.mkdir(parents=True, exist_ok=True)
    vendor = _vendor()
    if vendor == "sqlite":
        _sqlite_copy(Path(settings.DATABASES["default"]["NAME"]), target / SQLITE_FILE)
    else:
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target / PG_FILE}"])
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created": datetime.now(UTC).isoformat(),
        "database": vendor,
        "media": _local_media() is not None,
        "models": models,
    }
    if (media := _local_media()) is not None:
        _copy_tree(media, target / "media")
    else:
        print("demixer backup: uploads and stems are in an object store; back the bucket up there")
    if models:
        _copy_tree(Path(settings.MODELS_DIR), target / "models")
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"demixer backup: {vendor} database and files written to {target}")
    return manifest


def restore(source: Path, *, force: bool = False, models: bool = False) -> None:
    """Restore the backup in ``source`` into this instance's database and media folder."""
    from django.conf import settings
    from django.db import connection

    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{source} holds no {MANIFEST}: not a (complete) backup") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source} is a backup of format {manifest.get('format')!r}")
    vendor = _vendor()
    if manifest["database"] != vendor:
        raise BackupError(
            f"the backup holds a {manifest['database']} database and this instance uses "
            f"{vendor}: restore it into an instance with the same kind of database"
        )
    media = _local_media()
    if not force:
        if tables := connection.introspection.table_names():
            raise BackupError(
                f"the database is not empty ({len(tables)} tables); restore into a new one, "
                "or give --force to replace it"
            )
        if media is not None and media.exists() and any(media.iterdir()):
            raise BackupError(f"{media} is not empty; give --force to write over it")
    if models and not manifest.get("models"):
        raise BackupError("this backup has no models folder (it was made without --models)")
    connection.close()
    if vendor == "sqlite":
        _sqlite_restore(source / SQLITE_FILE, Path(settings.DATABASES["default"]["NAME"]))
    else:
        _pg_restore(source / PG_FILE, clean=force)
    if manifest["media"] and media is not None:
        _copy_tree(source / "media", media)
    elif manifest["media"]:
        raise BackupError("the backup holds media files but this instance uses an object store")
    if models:
        _copy_tree(source / "models", Path(settings.MODELS_DIR))
    print(f"demixer restore: {source} restored; start the site (migrations run on start)")


def _vendor() -> str:
    from django.db import connection

    if connection.vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"backups of a {connection.vendor} database are not supported")
    return str(connection.vendor)


def _local_media() -> Path | None:
    """The media folder, or None when uploads and stems live in an object store."""
    from django.conf import settings
    from django.core.files.storage import FileSystemStorage, default_storage

    return Path(settings.MEDIA_ROOT) if isinstance(default_storage, FileSystemStorage) else None


def _sqlite_copy(source: Path, dest: Path) -> None:
    """A consistent copy of a live SQLite database (WAL included), pages copied in steps."""
    if not source.exists():
        raise BackupError(f"no database at {source}; is DEMIXER_DATA_DIR right?")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=20)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst, pages=1024)
        finally:
            dst.close()
    finally:
        src.close()


def _sqlite_restore(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (dest, dest.with_name(dest.name + "-wal"), dest.with_name(dest.name + "-shm")):
        leftover.unlink(missing_ok=True)
    _sqlite_copy(source, dest)


def _pg_restore(dump: Path, *, clean: bool) -> None:
    """pg_restore's script through psql, in one transaction that stops at the first error.
    The script, not a direct restore: pg_restore 17 starts with ``SET transaction_timeout``,
    which servers before 17 refuse, so that line is left out."""
    if shutil.which("pg_restore") is None:
        _run(["pg_restore"])  # says what to install
    command = ["pg_restore", "--no-owner", "--file=-", str(dump)]
    if clean:
        command[1:1] = ["--clean", "--if-exists"]
    script = subprocess.run(command, capture_output=True, text=True, check=False)
    if script.returncode != 0:
        lines = [line for line in script.stderr.splitlines() if line.strip()]
        raise BackupError(f"pg_restore failed: {lines[-1] if lines else script.returncode}")
    kept = [s for s in script.stdout.splitlines() if not s.startswith("SET transaction_timeout")]
    psql = ["psql", "--no-psqlrc", "--quiet", "--single-transaction", "-v", "ON_ERROR_STOP=1"]
    _run(psql, stdin="\n".join(kept) + "\n")


def _run(command: list[str], stdin: str | None = None) -> None:
    """Run a PostgreSQL client tool against this instance's database."""
    from django.conf import settings

    tool = command[0]
    if shutil.which(tool) is None:
        raise BackupError(
            f"{tool} is missing: install PostgreSQL's client tools (Debian: apt-get install "
            "postgresql-client), of the server's major version or newer"
        )
    db = settings.DATABASES["default"]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    given = {"--dbname": db.get("NAME"), "--host": db.get("HOST"), "--port": db.get("PORT")}
    given["--username"] = db.get("USER")
    where = [f"{flag}={value}" for flag, value in given.items() if value]
    result = subprocess.run(
        [*command[:1], *where, *command[1:]],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise BackupError(f"{tool} failed: {lines[-1] if lines else result.returncode}")


def _copy_tree(source: Path, dest: Path) -> None:
    """Copy the files under ``source`` (skipping the partial downloads of a fetch and the files
    deleted while the copy runs) to ``dest``, writing over what is there."""
    for root, dirs, files in os.walk(source):
        dirs[:] = [d for d in dirs if not d.startswith("fetch-")]
        into = dest / Path(root).relative_to(source)
        into.mkdir(parents=True, exist_ok=True)
        for name in files:
            try:
                shutil.copy2(Path(root) / name, into / name)
            except FileNotFoundError:  # deleted since the walk listed it: its row is gone too
                continue
