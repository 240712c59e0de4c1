#!/usr/bin/env bash
# Usage: local-base.sh CACHE_DIR
# Print the name of a local base image for the Containerfile when the official one cannot be
# pulled: Debian trixie made with debootstrap (minbase, plus Python and its venv module, as the
# official slim Python images have), imported with podman. The root filesystem is cached as a
# tarball under CACHE_DIR, keyed on this script's contents, so only the first build runs
# debootstrap; the import is skipped while the image exists.
set -euo pipefail
CACHE_DIR=$1
SUITE=trixie
INCLUDE=python3,python3-venv,ca-certificates
key=$(sha256sum "$0" | cut -c1-12)
image=localhost/demixer-base:$SUITE-$key
tarball=$CACHE_DIR/$SUITE-$key.tar

if ! podman image exists "$image"; then
  if [ ! -s "$tarball" ]; then
    mkdir -p "$CACHE_DIR"
    root=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
    trap 'rm -rf "$root"' EXIT
    echo "local-base: debootstrap $SUITE into $root (once; cached as $tarball)" >&2
    debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$root" >&2
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" --numeric-owner -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
  fi
  podman import --quiet "$tarball" "$image" >/dev/null
fi
echo "$image"
