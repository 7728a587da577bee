#!/usr/bin/env bash
# The <python> tool's OS sandbox: bubblewrap (Debian/Ubuntu package "bubblewrap").
# Idempotent: does nothing when bwrap is already on PATH. Needs root (apt-get) when it installs.
# Afterwards it checks that bwrap can create the user and network namespaces the sandbox uses.
set -euo pipefail
if ! command -v bwrap >/dev/null; then
  if ! command -v apt-get >/dev/null; then
    echo "install_sandbox: no bwrap and no apt-get; install bubblewrap (>= 0.8) with your package manager" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap
fi
bwrap --version
if ! bwrap --unshare-all --unshare-user --ro-bind / / --dev /dev true; then
  echo "install_sandbox: bwrap is installed but cannot create namespaces here" \
       "(enable unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1," \
       "user.max_user_namespaces>0; or allow them in the container's seccomp/AppArmor profile)" >&2
  exit 1
fi
echo "install_sandbox: ok"
