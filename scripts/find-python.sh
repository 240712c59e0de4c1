#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, preferring the version pinned in .python-version.
# Looks at $PYTHON, pyenv's versions, then python3.13/python3.12/python3 on PATH.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }
cd "$(dirname "$0")/.." || exit 1
pinned=$(cat .python-version 2>/dev/null || true)
candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
root=${PYENV_ROOT:-$HOME/.pyenv}
[ -n "$pinned" ] && candidates+=("$root/versions/$pinned/bin/python3")
for v in "$root"/versions/3.1[2-9]*/bin/python3; do candidates+=("$v"); done
for n in python3.14 python3.13 python3.12 python3; do
  p=$(command -v "$n" 2>/dev/null) && candidates+=("$p")
done
for c in "${candidates[@]}"; do
  if [ -x "$c" ] && ok "$c"; then echo "$c"; exit 0; fi
done
echo "error: demixer needs Python >= 3.12 (Django 6.1). Install one (e.g. 'pyenv install 3.12') or set PYTHON=/path/to/python3.12." >&2
exit 1
