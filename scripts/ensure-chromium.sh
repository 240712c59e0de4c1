#!/usr/bin/env bash
# Make sure Debian's chromium is installed at /usr/bin/chromium for the browser tests.
# Installs it with apt-get (never a browser downloaded from elsewhere); runs `apt-get update`
# only when the first install attempt fails, since the package lists are usually fresh enough.
set -u
BROWSER=/usr/bin/chromium
[ -x "$BROWSER" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "error: $BROWSER is missing and installing it needs root (apt-get install chromium)." >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
install() {
  $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
}

echo "Installing Debian's chromium for the browser tests..." >&2
if ! install; then
  $SUDO apt-get update -qq >/dev/null && install
fi

if [ -x "$BROWSER" ]; then
  exit 0
fi
echo "error: could not install chromium with apt-get; install it yourself (apt-get install chromium)." >&2
exit 1
