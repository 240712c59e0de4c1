"""The ``demixer`` command: the engine's own commands, the web app's ``serve`` and ``worker``, and
``remote`` (the API's client).

The engine (``demixer.engine.cli``) never imports the web side; this module is the one place
that knows both, and imports the web side only when one of its commands is asked for.
"""

from __future__ import annotations

import sys

WEB_COMMANDS = {
    "serve": "run the web app and one worker, restarting either if it dies (Ctrl-C stops both)",
    "web": "run the web app only, restarted if it dies (its workers run as `demixer worker`)",
    "worker": "run one separation worker, restarted if it dies",
}

# the site's data: Django's own commands (migrate, createsuperuser...), backups
DATA_COMMANDS = {
    "manage": "a Django management command: `manage migrate`, `manage createsuperuser`",
    "backup": "copy the database and the media folder into DIR, while the site runs",
    "restore": "restore `demixer backup`'s DIR into an empty database and data folder",
}


REMOTE = {"remote": "use a demixer server through its API: `remote separate FILE...`, `list`"}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in REMOTE:
        from demixer import remote  # standard library and tqdm only: no engine, no Django

        return remote.main(args[1:])
    if args and args[0] in DATA_COMMANDS:
        return _data_command(args)
    if args and args[0] in WEB_COMMANDS:
        if len(args) > 1:
            print(
                f"demixer {args[0]}: takes no arguments (configure it with DEMIXER_* variables)",
                file=sys.stderr,
            )
            return 2
        # each command loads only what it runs (the engine's commands never set Django up)
        from demixer.config import serve

        return serve.main(args[0])
    # each command loads only what it runs (the engine's commands never set Django up)
    from demixer.engine import cli

    return cli.main(args, extra_commands=WEB_COMMANDS | DATA_COMMANDS | REMOTE)


def _data_command(args: list[str]) -> int:
    if args[0] == "manage":
        import os

        from django.core.management import execute_from_command_line

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demixer.config.settings")
        execute_from_command_line(["demixer manage", *args[1:]])
        return 0
    # each command loads only what it runs (the engine's commands never set Django up)
    from demixer.ops import backup

    return backup.main(args)


if __name__ == "__main__":
    sys.exit(main())
