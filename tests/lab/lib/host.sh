# shellcheck shell=bash
# Sourced by tests/lab/lab: what the lab needs of the host. Its Debian packages
# (installed without starting any service), a build venv for host-side pip, and the
# keystone version the lab deploys.

# lxc-templates holds /usr/share/lxc/config/debian.common.conf, which the containers'
# config includes: lxc only recommends it, and the lab installs without recommends.
# openssh-server: the lab's own sshd processes (lib/ssh.sh); the system's stays off.
# libldap2-dev, libsasl2-dev: python-ldap's wheel, for keystone's unit tests (git osa test).
HOST_PKGS="lxc lxc-templates debootstrap haproxy zstd python3 python3-venv python3-dev libpython3.11 gcc
  curl git libsystemd-dev pkg-config iproute2 ca-certificates util-linux procps tar
  openssh-client openssh-server libldap2-dev libsasl2-dev"

ensure_host_packages() {
  local missing=() p
  for p in $HOST_PKGS; do
    [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  say "installing host packages: ${missing[*]}"
  local prc=/usr/sbin/policy-rc.d log=$CACHE/log/apt.log rc=0
  mkdir -p "$CACHE/log"
  # No package may start a service: the host is not ours to change. An
  # existing policy-rc.d is not ours either: leave it alone.
  if [[ ! -e $prc ]]; then
    printf '#!/bin/sh\n# git-osa lab: no service starts during its apt-get install\nexit 101\n' >"$prc"
    chmod 755 "$prc"
    POLICY_RC=$prc
  fi
  {
    DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  } >"$log" 2>&1 9>&- || rc=$?
  remove_policy_rc
  ((rc == 0)) || die_log "$log" "apt-get install ${missing[*]} failed"
  # openssh-server came for the lab's own sshd processes: the system's must not listen,
  # now (where a policy-rc.d not ours let it start) or after a reboot.
  if [[ " ${missing[*]} " == *" openssh-server "* ]] && command -v systemctl >/dev/null; then
    systemctl disable ssh.service ssh.socket >/dev/null 2>&1 || true
    systemctl stop ssh.service ssh.socket >/dev/null 2>&1 || true
  fi
}

POLICY_RC=""
remove_policy_rc() {
  if [[ -n $POLICY_RC ]]; then rm -f "$POLICY_RC"; fi
  POLICY_RC=""
}

# host-side pip (Debian's /usr/bin/python3, same as the containers): a clean
# environment, so the host's PIP_* variables don't leak in.

TOOLS=$CACHE/tools/venv
hostenv() {
  local pass=() v
  for v in http_proxy https_proxy HTTP_PROXY HTTPS_PROXY no_proxy NO_PROXY; do
    [[ -n ${!v:-} ]] && pass+=("$v=${!v}")
  done
  [[ -r /etc/ssl/certs/ca-certificates.crt ]] && pass+=(PIP_CERT=/etc/ssl/certs/ca-certificates.crt)
  env -i PATH="$SYSPATH" HOME="${HOME:-/root}" LANG=C.UTF-8 LC_ALL=C.UTF-8 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off "${pass[@]}" "$@"
}
ensure_tools() {
  [[ -e $TOOLS/.complete ]] && return 0
  mkdir -p "${TOOLS%/*}" "$CACHE/log" "${LOCK%/*}"
  # `checkout` may run next to `up`: one of them builds it
  (
    exec 7>"$LOCK.tools"
    flock -w 600 7 || exit 1
    [[ -e $TOOLS/.complete ]] && exit 0
    rm -rf "$TOOLS"
    hostenv /usr/bin/python3 -m venv "$TOOLS" || exit 1
    # bookworm's bundled pip 23.0 builds legacy sdists (uWSGI, systemd-python)
    # with `setup.py bdist_wheel`, which needs `wheel`; a current pip uses PEP 517.
    hostenv "$TOOLS/bin/pip" install --no-cache-dir --upgrade pip setuptools wheel || exit 1
    touch "$TOOLS/.complete"
  ) >"$CACHE/log/tools.log" 2>&1 7>&- || die_log "$CACHE/log/tools.log" "could not set up the host's build venv"
}
hpip() { hostenv "$TOOLS/bin/pip" "$@"; }

keystone_version() {
  if [[ -s $CACHE/keystone-version ]]; then
    V=$(<"$CACHE/keystone-version")
    return 0
  fi
  ensure_tools
  # pip filters by Requires-Python, so this is the newest release that runs on
  # bookworm's Python 3.11.
  V=$(hpip index versions keystone 2>/dev/null | sed -n 's/^keystone (\(.*\))$/\1/p')
  [[ $V =~ ^[0-9]+(\.[0-9]+)*$ ]] || die "could not determine keystone's newest release for $(/usr/bin/python3 --version) from PyPI"
  printf '%s\n' "$V" >"$CACHE/keystone-version"
  say "keystone $V pinned in $CACHE/keystone-version"
}

# heat's version, chosen and pinned like keystone's: $CACHE/heat-version
heat_version() {
  if [[ -s $CACHE/heat-version ]]; then
    HV=$(<"$CACHE/heat-version")
    return 0
  fi
  ensure_tools
  HV=$(hpip index versions openstack-heat 2>/dev/null | sed -n 's/^openstack-heat (\(.*\))$/\1/p')
  [[ $HV =~ ^[0-9]+(\.[0-9]+)*$ ]] || die "could not determine openstack-heat's newest release for $(/usr/bin/python3 --version) from PyPI"
  printf '%s\n' "$HV" >"$CACHE/heat-version"
  say "openstack-heat $HV pinned in $CACHE/heat-version"
}
