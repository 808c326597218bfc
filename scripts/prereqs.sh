#!/usr/bin/env bash
# Installs what the chapters need from the host, idempotently.
# Run as root on Debian/Ubuntu (apt-get); otherwise it names what is missing.
set -euo pipefail

# "package:check" pairs. The check is a command that succeeds when the
# package's piece is already there. Later chapters append to this list.
REQUIREMENTS=(
  "busybox-static:busybox_is_static"
  "iproute2:command -v ip"
  "iptables:command -v iptables"
  "conntrack:command -v conntrack"
  "util-linux:command -v unshare"
  "procps:command -v ps"
  "chromium:command -v chromium"
  "gcc:command -v cc"
  "libc6-dev:test -e /usr/lib/x86_64-linux-gnu/libc.a -o -e /usr/lib/aarch64-linux-gnu/libc.a"
  "debootstrap:command -v debootstrap"
  "skopeo:command -v skopeo"
  "docker-registry:test -x /usr/bin/docker-registry"
  "golang-github-containers-common:test -e /usr/share/containers/seccomp.json"
  "apparmor:command -v apparmor_parser"
  "docker-compose:command -v docker-compose"
  "python3-docker:python3 -c 'import docker'"
  "containerd:command -v containerd-shim-runc-v2"
  "podman:command -v podman"
)

busybox_is_static() {
  [ -x /bin/busybox ] || return 1
  # A static binary has no program interpreter (PT_INTERP) to name.
  ! grep -qa 'ld-linux' <(head -c 4096 /bin/busybox)
}

missing=()
for req in "${REQUIREMENTS[@]}"; do
  pkg=${req%%:*}
  check=${req#*:}
  if ! eval "$check" >/dev/null 2>&1; then missing+=("$pkg"); fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "skiff: missing host packages: ${missing[*]}" >&2
  echo "skiff: install them as root (sudo npm run setup) or by hand" >&2
  exit 0
fi

echo "skiff: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Try with the package lists we have; refresh them only if that fails.
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# final/registry.test.ts runs its own registry on 127.0.0.1: the one the
# package enables (on port 5000 of every address) is not wanted.
if [[ " ${missing[*]} " == *" docker-registry "* ]] &&
  command -v systemctl >/dev/null; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi

# final/oci-clients.test.ts starts a containerd of its own (own root,
# state and socket); the host-wide one the package enables is not wanted.
if [[ " ${missing[*]} " == *" containerd "* ]] &&
  command -v systemctl >/dev/null; then
  systemctl disable --now containerd >/dev/null 2>&1 || true
fi
