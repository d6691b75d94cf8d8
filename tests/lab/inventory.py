#!/usr/bin/python3
"""Write the lab's openstack_inventory.json in OpenStack-Ansible's format.

The shape follows osa_toolkit/generate.py: every group is
{"hosts": [...], "children": [...]} (container_skel groups, whose names end in
"container", get only "hosts"), per-host data lives in _meta.hostvars and
global variables in all.vars.

The lab mirrors a deployment upgraded across 2024.1: one keystone container
from the old era (underscores in the name, hostvars keyed on
container_address) and one created afterwards (dashes, management_address).

Usage: inventory.py OUT HOST HOST_IP BRIDGE NAME=IP:STYLE...   (STYLE: old|new)
"""

import json
import os
import sys

NETMASK = "255.255.252.0"
CIDR = "172.29.236.0/22"


def container_hostvars(name, ip, style, host, host_ip, bridge):
    key = "container_address" if style == "old" else "management_address"
    return {
        key: ip,
        "ansible_host": ip,
        "component": "keystone",
        "container_name": name,
        "container_networks": {
            key: {
                "address": ip,
                "bridge": bridge,
                "interface": "eth0",
                "netmask": NETMASK,
                "type": "veth",
            }
        },
        "physical_host": host,
        "physical_host_addr": host_ip,
        "physical_host_group": "identity_hosts",
        "properties": {"service_name": "keystone"},
    }


def main(argv):
    out, host, host_ip, bridge, *nodes = argv
    containers = []
    hostvars = {
        host: {
            "ansible_host": host_ip,
            "management_address": host_ip,
            "container_name": host,
            "container_types": f"{host}_host_containers",
            "container_networks": {
                "management_address": {
                    "address": host_ip,
                    "bridge": bridge,
                    "netmask": NETMASK,
                    "type": "veth",
                }
            },
            "is_metal": True,
            "physical_host": host,
            "physical_host_addr": host_ip,
            "physical_host_group": "haproxy_hosts",
            "component": "haproxy",
            "properties": {"is_metal": True, "service_name": "haproxy"},
        }
    }
    for spec in nodes:
        name, rest = spec.split("=", 1)
        ip, style = rest.split(":", 1)
        containers.append(name)
        hostvars[name] = container_hostvars(name, ip, style, host, host_ip, bridge)

    def group(hosts=(), children=()):
        return {"children": list(children), "hosts": list(hosts)}

    inv = {
        "_meta": {"hostvars": hostvars},
        "all": {
            "vars": {
                "container_cidr": CIDR,
                "internal_lb_vip_address": host_ip,
                "external_lb_vip_address": host_ip,
                "management_bridge": bridge,
            }
        },
        "all_containers": group(children=["identity_containers"]),
        "hosts": group(children=["identity_hosts", "haproxy_hosts", "lxc_hosts", "repo-infra_hosts"]),
        "identity_hosts": group(hosts=[host]),
        "identity_containers": group(children=["keystone_container"]),
        "keystone_container": {"hosts": containers},
        "keystone": group(hosts=containers),
        "keystone_all": group(children=["keystone"]),
        f"{host}_host_containers": {"hosts": containers},
        "lxc_hosts": group(hosts=[host]),
        "haproxy_hosts": group(hosts=[host]),
        "haproxy_container": {"hosts": [host]},
        "haproxy": group(hosts=[host]),
        "haproxy_all": group(children=["haproxy"]),
        "repo-infra_hosts": group(hosts=[host]),
        "repo_container": {"hosts": [host]},
        "pkg_repo": group(hosts=[host]),
        "repo_all": group(children=["pkg_repo"]),
    }
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(inv, f, indent=4, sort_keys=True)
        f.write("\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main(sys.argv[1:])
