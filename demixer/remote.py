"""``demixer remote``: separate files on a demixer server through its API, from any machine.

Standard library only (urllib) plus tqdm: no Django, no engine, so it runs where neither is
set up. The token comes from ``DEMIXER_TOKEN`` or the config file
(``$XDG_CONFIG_HOME/demixer/remote.toml``, by default ``~/.config/demixer/remote.toml``, with
``token = "dmx_..."`` and optionally ``url = "https://..."``), never from the command line, where
other users of the machine could read it in the process list.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from demixer.engine.formats import FLAC

CHUNK = 256 * 1024
POLL_MAX_S = 5.0  # polls back off from 0.5 s to this
USER_AGENT = "demixer-remote/1"


class RemoteError(Exception):
    """One line for the user: what went wrong, as the server or the network said it."""


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "demixer" / "remote.toml"


def load_config() -> dict[str, str]:
    path = config_path()
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RemoteError(f"{path}: {exc}") from None
    return {key: str(value) for key, value in data.items() if key in ("url", "token")}


class Client:
    """The API at ``url`` with a bearer token; every failure a :class:`RemoteError`."""

    def __init__(self, url: str, token: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise RemoteError(f"--url must be an http(s) address, not {url!r}")
        self.base = url.rstrip("/")
        self.token = token

    def _open(self, path: str, method: str = "GET", body: Any = None, headers: dict | None = None):
        url = path if path.startswith("http") else self.base + path
        request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 (checked)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("User-Agent", USER_AGENT)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            return urllib.request.urlopen(request, timeout=60)  # noqa: S310 (http(s) only)
        except urllib.error.HTTPError as exc:
            raise RemoteError(_describe(exc)) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RemoteError(f"cannot reach {self.base}: {reason}") from None

    def json(self, path: str, method: str = "GET", body: Any = None, **headers: str) -> Any:
        with self._open(path, method, body, headers) as response:
            return json.loads(response.read() or b"null")

    def upload(self, path: Path, fields: dict[str, str]) -> dict[str, Any]:
        """POST the file as multipart, streamed from disk, with a progress bar."""
        boundary = uuid.uuid4().hex
        head = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in fields.items()
        )
        filename = path.name.replace('"', "_")
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        tail = f"\r\n--{boundary}--\r\n".encode()
        size = path.stat().st_size
        length = len(head.encode()) + size + len(tail)
        bar = tqdm(total=size, unit="B", unit_scale=True, desc=f"upload {path.name}", leave=False)

        def body() -> Iterator[bytes]:
            yield head.encode()
            with path.open("rb") as fh:
                while block := fh.read(CHUNK):
                    bar.update(len(block))
                    yield block
            yield tail

        try:
            return self.json(
                "/api/v1/tracks/",
                "POST",
                body(),
                **{
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                    "Content-Length": str(length),
                },
            )
        finally:
            bar.close()

    def download(self, path: str, target: Path) -> None:
        """Stream a file to ``target`` (written beside it, then renamed into place)."""
        partial = target.with_name(f".{target.name}.part")
        with self._open(path) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with (
                partial.open("wb") as out,
                tqdm(total=total, unit="B", unit_scale=True, desc=target.name, leave=False) as bar,
            ):
                while block := response.read(CHUNK):
                    out.write(block)
                    bar.update(len(block))
        partial.replace(target)


def _describe(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read())
        return f"{data['message']} ({exc.code} {data['code']})"
    except (ValueError, KeyError, TypeError, OSError):
        return f"the server answered {exc.code} {exc.reason}"


def wait(client: Client, job: dict[str, Any], name: str) -> dict[str, Any]:
    """Poll the job until it ends, with a progress bar (percent) and the queue position."""
    delay = 0.5
    with tqdm(total=100, desc=name, unit="%", leave=False) as bar:
        while job["status"] in ("queued", "running"):
            if job["status"] == "queued" and job.get("queue_position"):
                bar.set_postfix_str(f"queued, position {job['queue_position']}")
            else:
                bar.set_postfix_str(job.get("stage") or job["status"])
            bar.update(job["percent"] - bar.n)
            time.sleep(delay)
            delay = min(POLL_MAX_S, delay * 1.5)
            job = client.json(job["url"])
        bar.update(job["percent"] - bar.n)
    return job


def separate(client: Client, files: list[Path], out: Path, fields: dict[str, str]) -> int:
    failures = 0
    for path in files:
        started = client.upload(path, fields)
        job = started["separation"]
        print(f"{path.name}: {'already separated' if started['reused'] else 'queued'}")
        job = wait(client, job, path.name)
        if job["status"] != "done":
            print(f"{path.name}: {job['status']}: {job['error'] or job['status_label']}")
            failures += 1
            continue
        folder = out / _safe(job["track"]["title"])
        folder.mkdir(parents=True, exist_ok=True)
        for stem in job["stems"]:
            # the lossless master: served at once, nothing to wait for
            target = folder / f"{_safe(stem['name'])}{FLAC.extension}"
            client.download(stem["downloads"][FLAC.name], target)
        print(f"{path.name}: {len(job['stems'])} stems in {folder}")
    return 1 if failures else 0


def _safe(name: str) -> str:
    """A file name from a title the server gave: no separators, no leading dots."""
    cleaned = "".join("_" if c in "/\\:\0" else c for c in name).strip().lstrip(".")
    return cleaned or "untitled"


def list_jobs(client: Client, limit: int) -> int:
    cursor: str | None = None
    shown = 0
    while shown < limit:
        query = urllib.parse.urlencode(
            {"limit": min(100, limit - shown)} | ({"cursor": cursor} if cursor else {})
        )
        page = client.json(f"/api/v1/separations/?{query}")
        for job in page["separations"]:
            mode = f"2 stems ({job['two_stems']})" if job["two_stems"] else "all stems"
            print(
                f"{job['id']}  {job['status']:<9}  {job['percent']:>3}%  {mode:<18}  "
                f"{job['track']['title']}"
            )
            shown += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return 0


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        help="the server, e.g. https://demixer.example.org "
        "(default: DEMIXER_URL or the config file's url)",
    )
    parser = argparse.ArgumentParser(
        prog="demixer remote",
        description="Use a demixer server through its API. The token is read from "
        f'DEMIXER_TOKEN or {config_path()} (token = "dmx_...", url = "...").',
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sep = sub.add_parser(
        "separate", parents=[common], help="upload files, wait, download the stems (FLAC)"
    )
    sep.add_argument("files", nargs="+", type=Path, metavar="FILE")
    sep.add_argument("-o", "--output", type=Path, default=Path("separated"), metavar="DIR")
    sep.add_argument(
        "--mode",
        help="as the upload form: 4 (every stem; the default), 2 (vocals and the rest), spleeter",
    )
    sep.add_argument("--quality", choices=("default", "fast"), default="default")
    sep.add_argument("--model", help="a model the server offers (default: the mode's)")
    lst = sub.add_parser("list", parents=[common], help="your separations, newest first")
    lst.add_argument("--limit", type=int, default=50)
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config()
        token = os.environ.get("DEMIXER_TOKEN") or config.get("token")
        url = args.url or os.environ.get("DEMIXER_URL") or config.get("url")
        if not token:
            raise RemoteError(
                f'no API token: set DEMIXER_TOKEN, or token = "..." in {config_path()} '
                "(create one on the server's API tokens page)"
            )
        if not url:
            raise RemoteError(f"no server: pass --url, set DEMIXER_URL, or url in {config_path()}")
        client = Client(url, token)
        if args.command == "list":
            return list_jobs(client, args.limit)
        missing = [str(p) for p in args.files if not p.is_file()]
        if missing:
            raise RemoteError(f"no such file: {', '.join(missing)}")
        fields = {"quality": args.quality}
        if args.mode:
            fields["mode"] = args.mode
        if args.model:
            fields["model"] = args.model
        return separate(client, args.files, args.output, fields)
    except RemoteError as exc:
        print(f"demixer remote: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
