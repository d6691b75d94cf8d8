#!/bin/bash
# Runs as root inside the lab's golden container (once, on a cold build) and
# installs keystone the way OpenStack-Ansible's os_keystone / python_venv_build /
# uwsgi / systemd_service roles leave a keystone container:
#   /openstack/venvs/keystone-<tag>, /openstack/venvs/uwsgi-<tag>-python3,
#   /etc/uwsgi/keystone-wsgi-public.ini, keystone-wsgi-public.service,
#   /etc/keystone/keystone.conf (journal logging), local facts, and Apache in front as
#   os_keystone puts it today: a vhost on :5000 proxying to the unit's uWSGI socket on
#   127.0.0.1:35358 (tasks/keystone_apache.yml).
# Its database is MariaDB's, as os_keystone's `[database] connection` names it: the
# galera container's at DB_IP. That container exists only once the lab is up, so the
# database is made here on this container's own MariaDB (installed, switched off, in
# every container's rootfs), dumped to /root/keystone.sql for the lab to load into the
# galera container, and dropped; then the connection is pointed at DB_IP. A second,
# SQLite database (/var/lib/keystone/db/keystone.db: schema and bootstrap) is for the
# lab's metal keystone on compute1, whose database is a file of its own.
# It also registers heat in keystone as os_heat does (service user, endpoints, roles,
# the stack user domain and its admin).
# The repo server on the host is the only package source (/etc/pip.conf).
#
# Usage: provision.sh VERSION CONTAINER_IP HOST_IP ADMIN_PASSWORD HEAT_PASSWORD STACK_DOMAIN_ADMIN_PASSWORD DB_IP DB_PASSWORD
set -euo pipefail

V=$1 IP=$2 HOST_IP=$3 ADMIN_PASSWORD=$4 HEAT_PASSWORD=$5 DOMAIN_PASSWORD=$6 DB_IP=$7 DB_PASSWORD=$8
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
# PyMySQL: the driver of the mysql+pymysql:// connection
printf '%s\n' "keystone==$V" PyMySQL systemd-python >"$VENV/requirements.txt"
"$VENV/bin/pip" install --requirement "$VENV/requirements.txt"
# As python_venv_build does: every installed distribution pinned with ==,
# the service itself included.
"$VENV/bin/pip" freeze --all | LC_ALL=C sort -f >"$VENV/constraints.txt"
grep -qx "keystone==$V" "$VENV/constraints.txt"
"$VENV/bin/python" -c 'import pymysql, systemd.journal, keystone.server.flask'

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
connection = @CONNECTION@

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
# connect URL: the [database] connection of keystone.conf
connect() { sed -i "s|^connection = .*|connection = $1|" /etc/keystone/keystone.conf; }

step "database (this container's MariaDB for now) and keys"
systemctl start mariadb
mysql --batch <<SQL
CREATE DATABASE keystone;
CREATE USER 'keystone'@'%' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON keystone.* TO 'keystone'@'%';
SQL
connect "mysql+pymysql://keystone:$DB_PASSWORD@127.0.0.1/keystone?charset=utf8"
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
# Modelled on ansible-role-uwsgi templates/uwsgi.ini.j2 with os_keystone's Apache in
# front: uWSGI speaks its own protocol on 127.0.0.1:35358 and Apache proxies :5000 to it.
# route-user-agent is left out: it needs uWSGI's PCRE routing, which this uWSGI is
# built without.
cat >/etc/uwsgi/$UNIT.ini <<EOF
[uwsgi]
uid = keystone
gid = keystone

virtualenv = $VENV
wsgi = keystone.wsgi.api:application
socket = 127.0.0.1:35358

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

step "Apache in front of keystone"
# os_keystone templates/keystone-httpd.conf.j2, reduced to what the lab needs. ports.conf
# holds the management address: each node writes its own.
a2enmod -q proxy proxy_uwsgi headers >/dev/null
echo "Listen $IP:5000" >/etc/apache2/ports.conf
cat >/etc/apache2/sites-available/keystone-httpd.conf <<'EOF'
<VirtualHost *:5000>
    LogLevel info
    ErrorLog ${APACHE_LOG_DIR}/keystone-error.log
    CustomLog ${APACHE_LOG_DIR}/keystone-access.log combined
    RequestHeader set X-Forwarded-Proto "http"
    ProxyPreserveHost On
    ProxyPass / uwsgi://127.0.0.1:35358/ retry=0 acquire=3000 timeout=600 keepalive=Off
</VirtualHost>
EOF
a2ensite -q keystone-httpd >/dev/null
systemctl enable apache2

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

step "start $UNIT and Apache"
systemd-tmpfiles --create "/etc/tmpfiles.d/openstack-$UNIT.conf"
systemctl daemon-reload
systemctl enable "$UNIT"
systemctl start "$UNIT"
systemctl restart apache2
for _ in $(seq 1 120); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$IP:5000/v3" || true)
  [[ $code == 200 ]] && break
  sleep 0.5
done
curl -sf --max-time 5 "http://$IP:5000/v3"
echo
systemctl is-active "$UNIT"

step "heat in keystone"
# What os_heat's keystone tasks create (tasks/heat_service_setup.yml, defaults/main.yml):
# the orchestration and cloudformation services and their endpoints on the load
# balancer, the heat service user (admin in the service project), the
# heat_stack_owner and heat_stack_user roles, the stack user domain `heat` and its
# admin user stack_domain_admin.
python3 - "$IP" "$HOST_IP" "$ADMIN_PASSWORD" "$HEAT_PASSWORD" "$DOMAIN_PASSWORD" <<'PY'
import json, sys, urllib.request, urllib.error
ip, lb, admin_pw, heat_pw, domain_pw = sys.argv[1:]
base = f"http://{ip}:5000/v3"
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(req, timeout=30) as r:
        data = r.read()
        return r, (json.loads(data) if data else None)
r, _ = call("POST", "/auth/tokens", {"auth": {
    "identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": admin_pw}}},
    "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
tok = r.headers["X-Subject-Token"]
def create(path, key, body):
    return call("POST", path, {key: body}, tok)[1][key]
def find(path, key, name):
    return [x for x in call("GET", path, token=tok)[1][key] if x["name"] == name][0]
def grant(path):
    call("PUT", path, token=tok)
admin_role = find("/roles", "roles", "admin")
admin_user = find("/users", "users", "admin")
admin_project = find("/projects", "projects", "admin")
service = create("/projects", "project", {"name": "service", "domain_id": "default",
                                          "description": "Keystone Identity Service"})
heat = create("/users", "user", {"name": "heat", "domain_id": "default", "password": heat_pw})
grant(f"/projects/{service['id']}/users/{heat['id']}/roles/{admin_role['id']}")
owner = create("/roles", "role", {"name": "heat_stack_owner"})
create("/roles", "role", {"name": "heat_stack_user"})
grant(f"/projects/{admin_project['id']}/users/{admin_user['id']}/roles/{owner['id']}")
domain = create("/domains", "domain", {"name": "heat", "description": "Owns users and projects created by heat"})
dadmin = create("/users", "user", {"name": "stack_domain_admin", "domain_id": domain["id"], "password": domain_pw})
grant(f"/domains/{domain['id']}/users/{dadmin['id']}/roles/{admin_role['id']}")
for name, stype, desc, url in [
    ("heat", "orchestration", "Heat Orchestration Service", f"http://{lb}:8004/v1/%(tenant_id)s"),
    ("heat-cfn", "cloudformation", "Heat CloudFormation Service", f"http://{lb}:8000/v1"),
]:
    svc = create("/services", "service", {"name": name, "type": stype, "description": desc})
    for iface in ("public", "internal", "admin"):
        create("/endpoints", "endpoint", {"service_id": svc["id"], "interface": iface,
                                          "region_id": "RegionOne", "url": url})
print("heat registered: domain", domain["id"])
PY

step "journal"
# keystone logs through oslo.log's journal handler (use_journal = True).
sleep 1
journalctl --no-pager -u "$UNIT" | tail -n 30

step "the database moves to the galera container at $DB_IP"
# keystone still runs (build_golden asks it for /v3, which reads no database); nothing
# writes to its database any more.
mysqldump --single-transaction --skip-dump-date keystone >/root/keystone.sql
grep -q 'INSERT INTO `project`' /root/keystone.sql
mysql --batch -e "DROP DATABASE keystone; DROP USER 'keystone'@'%';"
systemctl stop mariadb
connect "mysql+pymysql://keystone:$DB_PASSWORD@$DB_IP/keystone?charset=utf8"

step "an SQLite database for compute1's metal keystone"
printf '%s\n' '[database]' 'connection = sqlite:////var/lib/keystone/db/keystone.db' >/etc/keystone/sqlite.conf
chmod 0644 /etc/keystone/sqlite.conf
sqlite_manage() {
  as_keystone "$VENV/bin/keystone-manage" --config-file /etc/keystone/keystone.conf \
    --config-file /etc/keystone/sqlite.conf "$@"
}
sqlite_manage db_sync
sqlite_manage bootstrap \
  --bootstrap-username admin --bootstrap-password "$ADMIN_PASSWORD" \
  --bootstrap-project-name admin --bootstrap-role-name admin \
  --bootstrap-service-name keystone --bootstrap-region-id RegionOne \
  --bootstrap-admin-url "http://$HOST_IP:5000" \
  --bootstrap-internal-url "http://$HOST_IP:5000" \
  --bootstrap-public-url "http://$HOST_IP:5000"
rm -f /etc/keystone/sqlite.conf
rm -rf /root/.cache
echo "provisioned keystone $V"
