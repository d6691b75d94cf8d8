# shellcheck shell=bash
# Sourced by tests/lab/lab: the deployment's own command for its containers. OSA rebuilds a
# broken container with `openstack-ansible` (the destroy and create playbooks, then the
# service's playbook, each `--limit`ed to it); the lab answers the same command lines for
# its containers with its own provisioning: a container destroyed, made again from its
# golden image, its units started as the service's role leaves them. `up` puts the command
# in $LAB/bin (`lab env`: GIT_OSA_LAB_BIN), so that `git osa rebuild` runs it as it runs
# OSA's on a deploy host.

ensure_bin() {
  mkdir -p "$LAB/bin"
  {
    echo '#!/bin/sh'
    echo "# The git-osa lab's openstack-ansible: $HERE/lab openstack-ansible --help"
    printf 'exec %q openstack-ansible "$@"\n' "$HERE/lab"
  } >"$LAB/bin/openstack-ansible.new"
  chmod 755 "$LAB/bin/openstack-ansible.new"
  mv -f "$LAB/bin/openstack-ansible.new" "$LAB/bin/openstack-ansible"
}

playbook_usage() {
  cat <<'EOF'
usage: openstack-ansible PLAYBOOK --limit HOSTS [-e NAME=VALUE]...
The git-osa lab's stand-in for OSA's command, for the lab's containers:
  openstack.osa.containers_lxc_destroy (lxc-containers-destroy.yml)
      -e force_containers_destroy=true: destroy each container of HOSTS
  openstack.osa.containers_lxc_create (lxc-containers-create.yml)
      create each container of HOSTS again from its golden image, and start it
  openstack.osa.keystone (os-keystone-install.yml), openstack.osa.heat (os-heat-install.yml)
      the service's units enabled and active in each container of HOSTS
HOSTS: comma-separated; localhost, lxc_hosts and the physical host are accepted and skipped.
EOF
}

# what_node NAME: "keystone INDEX" or "heat INDEX" for a container of the lab
what_node() {
  local i
  for i in "${!NODES[@]}"; do [[ ${NODES[$i]} == "$1" ]] && echo "keystone $i" && return 0; done
  for i in "${!HEAT_NODES[@]}"; do [[ ${HEAT_NODES[$i]} == "$1" ]] && echo "heat $i" && return 0; done
  return 1
}

play_header() { printf '\nPLAY [%s] %s\n' "$1" "$(printf '%*s' 40 '' | tr ' ' '*')"; }
task() { printf '\nTASK [%s]\n' "$1"; }

cmd_openstack_ansible() {
  local playbook="" limit="" force="" a
  local -a hosts=() targets=()
  while (($#)); do
    case $1 in
    -h | --help) playbook_usage; return 0 ;;
    -l | --limit) limit=${2:-}; shift 2 || die "--limit needs HOSTS" ;;
    --limit=*) limit=${1#*=}; shift ;;
    -e | --extra-vars)
      a=${2:-}
      shift 2 || die "-e needs NAME=VALUE"
      case $a in
      force_containers_destroy=*) force=${a#*=} ;;
      force_containers_data_destroy=*) ;; # the lab's containers keep no data of their own
      *) die "openstack-ansible (lab): -e $a is not something the lab's playbooks take" ;;
      esac
      ;;
    -*) die "openstack-ansible (lab): $1 is not supported (see --help)" ;;
    *)
      [[ -z $playbook ]] || die "openstack-ansible (lab): one playbook at a time"
      playbook=$1
      shift
      ;;
    esac
  done
  [[ -n $playbook ]] || { playbook_usage >&2; exit 2; }
  require_root
  guard_paths
  lab_is_ours || die "the lab is not up; run: $HERE/lab up"
  IFS=',:' read -ra hosts <<<"$limit"
  for a in "${hosts[@]}"; do
    case $a in
    "" | localhost | lxc_hosts | all_containers | "$HOST_NAME") ;;
    *) what_node "$a" >/dev/null || die "openstack-ansible (lab): $a is no container of the lab"
      targets+=("$a") ;;
    esac
  done
  ((${#targets[@]})) || die "openstack-ansible (lab): --limit '$limit' names no container of the lab"
  take_lock
  keystone_version
  heat_version
  compute_keys
  case ${playbook##*/} in
  openstack.osa.containers_lxc_destroy | containers-lxc-destroy.yml | lxc-containers-destroy.yml)
    play_destroy "$force" "${targets[@]}" ;;
  openstack.osa.containers_lxc_create | containers-lxc-create.yml | lxc-containers-create.yml)
    play_create "${targets[@]}" ;;
  openstack.osa.keystone | os-keystone-install.yml) play_service keystone "${targets[@]}" ;;
  openstack.osa.heat | os-heat-install.yml) play_service heat "${targets[@]}" ;;
  *) die "openstack-ansible (lab): the lab has no playbook $playbook (see --help)" ;;
  esac
  printf '\nPLAY RECAP\n'
  for a in "${targets[@]}"; do printf '%-40s : ok=1 changed=1 failed=0\n' "$a"; done
}

# As OSA's destroy playbook, which asks unless told (vars_prompt).
play_destroy() {
  local force=$1 n answer
  shift
  if [[ $force != true && $force != yes ]]; then
    [[ -t 0 ]] || die "Are you sure you want to destroy the LXC containers? (no terminal to ask: pass -e force_containers_destroy=true)"
    read -r -p "Are you sure you want to destroy the LXC containers? [no]: " answer
    [[ $answer == yes || $answer == true ]] || die "not destroyed"
  fi
  play_header "Destroy lxc containers"
  for n in "$@"; do
    task "Destroy container $n"
    stop_destroy "$LXCPATH" "$n"
    echo "changed: [$n]"
  done
}

play_create() {
  local n kind i
  play_header "Create lxc containers"
  for n in "$@"; do
    read -r kind i < <(what_node "$n")
    task "Create container $n"
    if cexists "$LXCPATH" "$n"; then
      echo "ok: [$n]"
    else
      if [[ $kind == keystone ]]; then
        make_node "$i"
      else
        heat_secrets
        make_heat_node "$i"
      fi
      echo "changed: [$n]"
    fi
    task "Start container $n"
    if [[ $(cstate "$LXCPATH" "$n") != RUNNING ]]; then
      start_container "$LXCPATH" "$n"
      wait_booted "$LXCPATH" "$n"
    fi
    echo "ok: [$n]"
  done
}

play_service() {
  local service=$1 n kind i
  shift
  play_header "Install $service"
  for n in "$@"; do
    read -r kind i < <(what_node "$n")
    [[ $kind == "$service" ]] || die "openstack-ansible (lab): $n is no $service container"
    [[ $(cstate "$LXCPATH" "$n") == RUNNING ]] || die "$n is not running: create it first (openstack.osa.containers_lxc_create)"
    task "$service units in $n"
    if [[ $service == keystone ]]; then
      ensure_active "$n" "$UNIT" apache2
    else
      la "$LXCPATH" "$n" systemctl enable --quiet --now "${HEAT_UNITS[@]}" ||
        die "heat's units do not start in $n; see: lxc-attach -P $LXCPATH -n $n --clear-env -- journalctl -u 'heat-*'"
      ensure_active "$n" "${HEAT_UNITS[@]}"
    fi
    echo "changed: [$n]"
  done
}
