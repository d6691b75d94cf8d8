#!/usr/bin/python3
"""Write the lab's openstack_inventory.json in OpenStack-Ansible's format.

The shape follows osa_toolkit/generate.py: every group is
{"hosts": [...], "children": [...]} (container_skel groups, whose names end in
"container", get only "hosts"), per-host data lives in _meta.hostvars and
global variables in all.vars.

The lab mirrors a deployment upgraded across 2024.1: one keystone container
from the old era (underscores in the name, hostvars keyed on
container_address) and one created afterwards (dashes, management_address).
The infrastructure (galera, rabbit_mq) and heat's containers are of the new era.

Usage: inventory.py OUT HOST HOST_IP BRIDGE NAME=IP:STYLE:KIND...
  (STYLE: old|new; KIND: keystone|heat|galera|rabbit_mq)
"""

import json
import os
import sys

NETMASK = "255.255.252.0"
CIDR = "172.29.236.0/22"


# KIND: (container_skel group, its components, physical host group, service name,
# the containers group it belongs to), as OSA's env.d files name them
KINDS = {
    "keystone": ("keystone_container", ["keystone"], "identity_hosts", "keystone", "identity_containers"),
    "heat": ("heat_api_container", ["heat_api", "heat_api_cfn", "heat_engine"],
             "orchestration_hosts", "heat", "orchestration_containers"),
    "galera": ("galera_container", ["galera"], "shared-infra_hosts", "galera", "shared-infra_containers"),
    "rabbit_mq": ("rabbit_mq_container", ["rabbitmq"], "shared-infra_hosts", "rabbitmq",
                  "shared-infra_containers"),
}


def container_hostvars(name, ip, style, kind, host, host_ip, bridge):
    key = "container_address" if style == "old" else "management_address"
    skel, components, host_group, service, _ = KINDS[kind]
    return {
        key: ip,
        "ansible_host": ip,
        "component": components[0],
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
        "physical_host_group": host_group,
        "properties": {"service_name": service},
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
    by_kind = {k: [] for k in KINDS}
    for spec in nodes:
        name, rest = spec.split("=", 1)
        ip, style, kind = rest.split(":", 2)
        containers.append(name)
        by_kind[kind].append(name)
        hostvars[name] = container_hostvars(name, ip, style, kind, host, host_ip, bridge)

    def group(hosts=(), children=()):
        return {"children": list(children), "hosts": list(hosts)}

    # each kind's container group, component groups and *_all group
    kind_groups = {}
    for kind, (skel, components, host_group, service, parent) in KINDS.items():
        names = by_kind[kind]
        if not names:
            continue
        kind_groups[skel] = {"hosts": names}
        for c in components:
            kind_groups[c] = group(hosts=names)
            kind_groups[f"{c}_all"] = group(children=[c])
        kind_groups.setdefault(host_group, group(hosts=[host]))
        kind_groups.setdefault(parent, group())["children"].append(skel)
    kind_groups["heat_all"] = group(children=["heat_api", "heat_api_cfn", "heat_engine"])

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
        "all_containers": group(children=sorted({k[4] for kind, k in KINDS.items() if by_kind[kind]})),
        "hosts": group(children=sorted({"haproxy_hosts", "lxc_hosts", "repo-infra_hosts"} | {
            k[2] for kind, k in KINDS.items() if by_kind[kind]})),
        **kind_groups,
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
