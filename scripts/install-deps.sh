#!/usr/bin/env bash
# Installs the system packages the integration tests, the demo and the benchmarks need
# (sshd + ssh client, nginx, sudo, shellcheck, bubblewrap for the confined script tests, procps, iproute2, lsof,
# curl, util-linux, a JDK, and systemd and dbus for the booted hosts of test-target/booted/: systemd runs only
# there, as PID 1 of a host).
# Idempotent: prints almost nothing and changes nothing when everything is already present.
# While installing, a temporary /usr/sbin/policy-rc.d (exit 101) keeps the packages from
# starting nginx/sshd on ports 80/22; it is removed afterwards if this script created it.
set -euo pipefail

export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# "probe command:package" pairs; a package is installed when its probe command is missing.
checks=(
  "sshd:openssh-server"
  "ssh:openssh-client"
  "ssh-keygen:openssh-client"
  "nginx:nginx"
  "sudo:sudo"
  "visudo:sudo"
  "shellcheck:shellcheck"
  "bwrap:bubblewrap"
  "ps:procps"
  "pkill:procps"
  "ss:iproute2"
  "lsof:lsof"
  "curl:curl"
  "setsid:util-linux"
  "flock:util-linux"
  "nsenter:util-linux"
  "unshare:util-linux"
  "script:bsdutils"
  "/lib/systemd/systemd:systemd"
  "dbus-daemon:dbus"
  "javac:default-jdk-headless"
  "jar:default-jdk-headless"
)

missing=()
for pair in "${checks[@]}"; do
  cmd="${pair%%:*}"
  pkg="${pair#*:}"
  if ! command -v "$cmd" >/dev/null 2>&1; then
    already=0
    for m in "${missing[@]+"${missing[@]}"}"; do
      if [ "$m" = "$pkg" ]; then already=1; fi
    done
    if [ "$already" = 0 ]; then missing+=("$pkg"); fi
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$EUID" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"

policy=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
  if [ "$created_policy" = 1 ]; then
    rm -f "$policy"
  fi
}
trap cleanup EXIT

if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# temporary (scripts/install-deps.sh): do not start services during install\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# Verify that every probe command is now present.
still=()
for pair in "${checks[@]}"; do
  cmd="${pair%%:*}"
  if ! command -v "$cmd" >/dev/null 2>&1; then still+=("$cmd"); fi
done
if [ "${#still[@]}" -ne 0 ]; then
  echo "install-deps: still missing after install: ${still[*]}" >&2
  exit 1
fi
echo "install-deps: done"
