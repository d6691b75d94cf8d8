#!/bin/bash
# Runs as root inside the lab's golden container (once, on a cold build) and
# installs keystone the way OpenStack-Ansible's os_keystone / python_venv_build /
# uwsgi / systemd_service roles leave a keystone container:
#   /openstack/venvs/keystone-<tag>, /openstack/venvs/uwsgi-<tag>-python3,
#   /etc/uwsgi/keystone-wsgi-public.ini, keystone-wsgi-public.service,
#   /etc/keystone/keystone.conf (journal logging), local facts.
# The repo server on the host is the only package source (/etc/pip.conf).
#
# Usage: provision.sh VERSION CONTAINER_IP HOST_IP ADMIN_PASSWORD
set -euo pipefail

V=$1 IP=$2 HOST_IP=$3 ADMIN_PASSWORD=$4
VENV=/openstack/venvs/keystone-$V
UVENV=/openstack/venvs/uwsgi-$V-python3
UNIT=keystone-wsgi-public
export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\n=== %s\n' "$*"; }

step "keystone system user"
getent group keystone >/dev/null || groupadd --system keystone
getent passwd keystone >/dev/null ||
  useradd --system --gid keystone --home-dir /var/lib/keystone --shell /bin/false \
    --comment 'keystone system user' keystone
install -d -o keystone -g keystone -m 0755 /var/lib/keystone /var/lib/keystone/db
install -d -o root -g keystone -m 0750 /etc/keystone

step "pip: the repo server is the only package source"
cat >/etc/pip.conf <<EOF
[global]
no-index = true
find-links = http://$HOST_IP:8181/
trusted-host = $HOST_IP
EOF

step "uWSGI venv $UVENV"
python3 -m venv "$UVENV"
"$UVENV/bin/pip" install --upgrade pip setuptools wheel
"$UVENV/bin/pip" install uwsgi
"$UVENV/bin/uwsgi" --version

step "keystone venv $VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --upgrade pip setuptools wheel
printf '%s\n' "keystone==$V" systemd-python >"$VENV/requirements.txt"
"$VENV/bin/pip" install --requirement "$VENV/requirements.txt"
# As python_venv_build does: every installed distribution pinned with ==,
# the service itself included.
"$VENV/bin/pip" freeze --all | LC_ALL=C sort -f >"$VENV/constraints.txt"
grep -qx "keystone==$V" "$VENV/constraints.txt"
"$VENV/bin/python" -c 'import systemd.journal, keystone.server.flask'

step "keystone.conf"
cat >/etc/keystone/keystone.conf <<'EOF'
# Modelled on openstack-ansible-os_keystone templates/keystone.conf.j2

[DEFAULT]
use_journal = True
# Disable stderr logging
use_stderr = False
debug = False
fatal_deprecations = False

[oslo_messaging_notifications]
driver = noop

[cache]
enabled = false

[database]
connection = sqlite:////var/lib/keystone/db/keystone.db

[token]
provider = fernet
expiration = 43200

[fernet_tokens]
key_repository = /etc/keystone/fernet-keys
max_active_keys = 7

[fernet_receipts]
key_repository = /etc/keystone/fernet-keys

[credential]
provider = fernet
key_repository = /etc/keystone/credential-keys
EOF
chown root:keystone /etc/keystone/keystone.conf
chmod 0640 /etc/keystone/keystone.conf

step "database and keys"
as_keystone() { runuser -u keystone -- "$@"; }
install -d -o keystone -g keystone -m 0750 /etc/keystone/fernet-keys /etc/keystone/credential-keys
as_keystone "$VENV/bin/keystone-manage" db_sync
"$VENV/bin/keystone-manage" fernet_setup --keystone-user keystone --keystone-group keystone
"$VENV/bin/keystone-manage" credential_setup --keystone-user keystone --keystone-group keystone
as_keystone "$VENV/bin/keystone-manage" bootstrap \
  --bootstrap-username admin --bootstrap-password "$ADMIN_PASSWORD" \
  --bootstrap-project-name admin --bootstrap-role-name admin \
  --bootstrap-service-name keystone --bootstrap-region-id RegionOne \
  --bootstrap-admin-url "http://$HOST_IP:5000" \
  --bootstrap-internal-url "http://$HOST_IP:5000" \
  --bootstrap-public-url "http://$HOST_IP:5000"
as_keystone "$VENV/bin/keystone-manage" db_sync --check

step "uWSGI ini and systemd unit"
install -d -m 0755 /etc/uwsgi
# Modelled on ansible-role-uwsgi templates/uwsgi.ini.j2 (keystone_use_uwsgi:
# uwsgi itself binds the management address). route-user-agent is left out:
# it needs uWSGI's PCRE routing, which this uWSGI is built without.
cat >/etc/uwsgi/$UNIT.ini <<EOF
[uwsgi]
uid = keystone
gid = keystone

virtualenv = $VENV
wsgi = keystone.wsgi.api:application
http-socket = $IP:5000

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
env = REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
safe-pidfile = /run/$UNIT/uwsgi/$UNIT.pid

log-x-forwarded-for = true

ignore-sigpipe = true
ignore-write-errors = true
disable-write-exception = true
EOF

# ansible-role-systemd_service templates/systemd-tmpfiles.j2
cat >/etc/tmpfiles.d/openstack-$UNIT.conf <<EOF
D /run/lock/$UNIT/uwsgi 2755 keystone keystone
D /run/$UNIT/uwsgi 2755 keystone keystone
EOF

# ansible-role-systemd_service templates/systemd-service.j2 as ansible-role-uwsgi
# renders it.
cat >/etc/systemd/system/$UNIT.service <<EOF
[Unit]
Description=$UNIT service
After=network-online.target
After=syslog.target

[Service]
Type=notify
NotifyAccess=all
User=keystone
Group=keystone

ExecStart=$UVENV/bin/uwsgi --autoload --ini /etc/uwsgi/$UNIT.ini
ExecReload=$UVENV/bin/uwsgi --reload /run/$UNIT/uwsgi/$UNIT.pid
KillSignal=SIGQUIT

# Give a reasonable amount of time for the server to start up/shut down
TimeoutSec=120
Restart=on-failure
RestartSec=2

# This creates a specific slice which all services will operate from
#  The accounting options give us the ability to see resource usage through
#  the \`systemd-cgtop\` command.
Slice=uwsgi.slice

# Set Accounting
CPUAccounting=True
BlockIOAccounting=True
MemoryAccounting=True
TasksAccounting=True

# Set Sandboxing
PrivateTmp=False
PrivateDevices=False
PrivateNetwork=False
PrivateUsers=False

[Install]
WantedBy=multi-user.target
EOF

step "local facts"
install -d -m 0755 /etc/ansible/facts.d
cat >/etc/ansible/facts.d/openstack_ansible.fact <<EOF
[uwsgi]
venv_tag = $V

[keystone]
venv_tag = $V
install_method = source
need_db_expand = False
need_db_contract = False
EOF
chmod 0644 /etc/ansible/facts.d/openstack_ansible.fact

step "start $UNIT"
systemd-tmpfiles --create "/etc/tmpfiles.d/openstack-$UNIT.conf"
systemctl daemon-reload
systemctl enable "$UNIT"
systemctl start "$UNIT"
for _ in $(seq 1 120); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$IP:5000/v3" || true)
  [[ $code == 200 ]] && break
  sleep 0.5
done
curl -sf --max-time 5 "http://$IP:5000/v3"
echo
systemctl is-active "$UNIT"

step "journal"
# keystone logs through oslo.log's journal handler (use_journal = True).
sleep 1
journalctl --no-pager -u "$UNIT" | tail -n 30
rm -rf /root/.cache
echo "provisioned keystone $V"
