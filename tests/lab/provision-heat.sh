#!/bin/bash
# Runs as root inside the lab's heat golden container (once, on a cold build) and
# installs heat the way OpenStack-Ansible's os_heat / python_venv_build / uwsgi /
# systemd_service roles leave a heat container:
#   /openstack/venvs/heat-<version> (with constraints.txt), /openstack/venvs/uwsgi-<version>-python3,
#   heat-api and heat-api-cfn (uWSGI on the management address, :8004 and :8000),
#   heat-engine (the console script), /etc/heat/api-paste.ini, local facts.
# heat.conf (database, RabbitMQ, keystone credentials) is each node's own: the lab writes
# it when it creates the node. Nothing here starts heat: the units are enabled when the
# database is synced.
#
# Usage: provision-heat.sh VERSION CONTAINER_IP HOST_IP
set -euo pipefail

V=$1 IP=$2 HOST_IP=$3
VENV=/openstack/venvs/heat-$V
UVENV=/openstack/venvs/uwsgi-$V-python3
export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\n=== %s\n' "$*"; }

step "heat system user"
getent group heat >/dev/null || groupadd --system heat
getent passwd heat >/dev/null ||
  useradd --system --gid heat --home-dir /var/lib/heat --shell /bin/false --comment 'heat system user' heat
install -d -o heat -g heat -m 0755 /var/lib/heat /var/lib/heat/cache
install -d -o root -g heat -m 0750 /etc/heat /etc/heat/environment.d /etc/heat/templates

step "pip: the repo server is the only package source"
cat >/etc/pip.conf <<PIP
[global]
no-index = true
find-links = http://$HOST_IP:8181/
trusted-host = $HOST_IP
PIP

step "uWSGI venv $UVENV"
python3 -m venv "$UVENV"
"$UVENV/bin/pip" install --upgrade pip setuptools wheel
"$UVENV/bin/pip" install uwsgi
"$UVENV/bin/uwsgi" --version

step "heat venv $VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --upgrade pip setuptools wheel
printf '%s\n' "openstack-heat==$V" PyMySQL systemd-python >"$VENV/requirements.txt"
"$VENV/bin/pip" install --requirement "$VENV/requirements.txt"
"$VENV/bin/pip" freeze --all | LC_ALL=C sort -f >"$VENV/constraints.txt"
grep -qx "openstack-heat==$V" "$VENV/constraints.txt"
"$VENV/bin/python" -c 'import pymysql, systemd.journal, heat.cmd.engine, heat.cmd.manage'
"$VENV/bin/pip" check

step "api-paste.ini"
# os_heat copies the venv's etc/heat files to /etc/heat
install -m 0640 -o root -g heat "$VENV/etc/heat/api-paste.ini" /etc/heat/api-paste.ini

step "uWSGI inis and systemd units"
install -d -m 0755 /etc/uwsgi
# ansible-role-uwsgi templates/uwsgi.ini.j2 as os_heat renders it (heat_services):
# uWSGI binds the management address itself; each node writes its own address.
uwsgi_ini() { # uwsgi_ini UNIT MODULE PORT
  cat >"/etc/uwsgi/$1.ini" <<INI
[uwsgi]
uid = heat
gid = heat

virtualenv = $VENV
module = $2
http-socket = $IP:$3

master = true
enable-threads = true
processes = 2
threads = 1
exit-on-reload = true
die-on-term = true
lazy-apps = true
add-header = Connection: close
buffer-size = 65535
thunder-lock = true
disable-logging = true
http-auto-chunked = true
http-raw-body = true
socket-timeout = 10
need-app = true
safe-pidfile = /run/$1/uwsgi/$1.pid

log-x-forwarded-for = true

ignore-sigpipe = true
ignore-write-errors = true
disable-write-exception = true
INI
}
uwsgi_ini heat-api heat.wsgi.api:application 8004
uwsgi_ini heat-api-cfn heat.wsgi.cfn:application 8000

# ansible-role-systemd_service templates/systemd-service.j2 and systemd-tmpfiles.j2
unit() { # unit NAME EXECSTART [EXTRA SERVICE LINES...]
  cat >"/etc/systemd/system/$1.service" <<UNIT
[Unit]
Description=$1 service
After=network-online.target
After=syslog.target

[Service]
Type=${TYPE:-simple}
User=heat
Group=heat

ExecStart=$2
$(printf '%s\n' "${@:3}")

# Give a reasonable amount of time for the server to start up/shut down
TimeoutSec=120
Restart=on-failure
RestartSec=2

Slice=${SLICE:-heat.slice}

CPUAccounting=True
BlockIOAccounting=True
MemoryAccounting=True
TasksAccounting=True

[Install]
WantedBy=multi-user.target
UNIT
  cat >"/etc/tmpfiles.d/openstack-$1.conf" <<TMP
D /run/lock/$1 2755 heat heat
D /run/$1 2755 heat heat
D /run/$1/uwsgi 2755 heat heat
TMP
}
for u in heat-api heat-api-cfn; do
  TYPE=notify SLICE=uwsgi.slice unit "$u" "$UVENV/bin/uwsgi --autoload --ini /etc/uwsgi/$u.ini" \
    NotifyAccess=all "ExecReload=$UVENV/bin/uwsgi --reload /run/$u/uwsgi/$u.pid" KillSignal=SIGQUIT
done
# os_heat: ExecStart=<venv>/bin/heat-engine, no arguments (oslo.config finds /etc/heat)
unit heat-engine "$VENV/bin/heat-engine"
systemctl daemon-reload

step "local facts"
install -d -m 0755 /etc/ansible/facts.d
cat >/etc/ansible/facts.d/openstack_ansible.fact <<FACT
[uwsgi]
venv_tag = $V

[heat]
venv_tag = $V
install_method = source
FACT
chmod 0644 /etc/ansible/facts.d/openstack_ansible.fact
rm -rf /root/.cache
echo "provisioned heat $V"
