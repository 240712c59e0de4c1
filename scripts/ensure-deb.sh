#!/usr/bin/env bash
# Usage: ensure-deb.sh PROGRAM PACKAGE WHAT
# Make sure PROGRAM (a path: a program, or a data file such as a soundfont) is there, installing Debian's PACKAGE with apt-get when it is not
# (never a build downloaded from elsewhere). Runs `apt-get update` only when the first install
# attempt fails, since the package lists are usually fresh enough. WHAT says what needs it.
set -u
PROGRAM=$1 PACKAGE=$2 WHAT=$3
[ -e "$PROGRAM" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "error: $PROGRAM is missing and installing it needs root (apt-get install $PACKAGE)." >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
install() {
  $SUDO apt-get install -y -qq --no-install-recommends "$PACKAGE" >/dev/null
}

echo "Installing Debian's $PACKAGE for $WHAT..." >&2
if ! install; then
  $SUDO apt-get update -qq >/dev/null && install
fi

if [ -e "$PROGRAM" ]; then
  exit 0
fi
echo "error: could not install $PACKAGE with apt-get; install it yourself (apt-get install $PACKAGE)." >&2
exit 1
