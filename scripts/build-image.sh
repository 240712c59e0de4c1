#!/usr/bin/env bash
# Usage: [BUILD_CA=FILE] build-image.sh TAG [BASE_IMAGE]
# Build the Containerfile as TAG: with `docker build` where a Docker daemon answers, else with
# buildah (chroot isolation: no daemon, no cgroups needed). Without BASE_IMAGE, the Containerfile's
# default base is used when it can be pulled, else a local Debian base (scripts/local-base.sh,
# cached under var/image-base). Layers are cached, so a rebuild after a code change redoes only
# the steps from the project's files on. BUILD_CA: a CA bundle pip and npm trust during the build
# (a TLS-intercepting proxy's), mounted for the build only.
set -euo pipefail
TAG=$1 BASE=${2:-}
cd "$(dirname "$0")/.."
default_base=$(sed -n 's/^ARG BASE_IMAGE=//p' Containerfile)

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  exec docker build -f Containerfile -t "$TAG" ${BASE:+--build-arg "BASE_IMAGE=$BASE"} .
fi

scripts/ensure-deb.sh /usr/bin/buildah buildah "building the image"
if [ -z "$BASE" ]; then
  if buildah images --quiet "$default_base" >/dev/null 2>&1 \
     || timeout 120 buildah pull --quiet "$default_base" >/dev/null 2>&1; then
    BASE=$default_base
  else
    echo "build-image: $default_base cannot be pulled here; using a local Debian base" >&2
    scripts/ensure-deb.sh /usr/bin/podman podman "importing the local base image"
    scripts/ensure-deb.sh /usr/sbin/debootstrap debootstrap "making the local base image"
    BASE=$(scripts/local-base.sh var/image-base)
  fi
fi
ca=()
if [ -n "${BUILD_CA:-}" ]; then
  ca=(--volume "$(realpath "$BUILD_CA"):/run/build-ca.crt:ro"
      --build-arg PIP_CERT=/run/build-ca.crt --build-arg NODE_EXTRA_CA_CERTS=/run/build-ca.crt)
fi
# docker format: HEALTHCHECK is part of Docker's image format, not OCI's
exec buildah bud --isolation chroot --layers --format docker -f Containerfile -t "$TAG" \
  --build-arg "BASE_IMAGE=$BASE" "${ca[@]}" .
