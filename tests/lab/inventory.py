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

The multi-node inventory (the options) adds infra hosts that own containers and are
HAProxy nodes too, metal hosts, and each entry with the keys of its era's release (no
physical_host_addr before 2026.1).

Usage: inventory.py OUT HOST HOST_IP BRIDGE [OPTION...] NAME=IP:STYLE:KIND[@ON]...
  (STYLE: old|new; KIND: keystone|heat|galera|rabbit_mq; ON: the physical host, HOST or
  one of --host's)
  --host NAME=IP        another physical host: it holds containers, runs HAProxy
  --metal NAME=IP:KIND  a metal host running KIND's service (is_metal), logged in as root
  --release-keys        physical_host_addr only in entries of the new naming era
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


def physical_hostvars(host, host_ip, bridge, group, component, service):
    """A physical host's own entry, as generate.py writes it for a metal component."""
    return {
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
        "physical_host_group": group,
        "component": component,
        "properties": {"is_metal": True, "service_name": service},
    }


def parse_options(args):
    """The multi-node options, then the container specs."""
    opts = {"hosts": [], "metal": [], "release_keys": False}
    rest = []
    it = iter(args)
    for a in it:
        if a == "--host":
            name, ip = next(it).split("=", 1)
            opts["hosts"].append((name, ip))
        elif a == "--metal":
            name, rest_ = next(it).split("=", 1)
            ip, kind = rest_.split(":", 1)
            opts["metal"].append((name, ip, kind))
        elif a == "--release-keys":
            opts["release_keys"] = True
        else:
            rest.append(a)
    return opts, rest


def main(argv):
    out, host, host_ip, bridge, *args = argv
    opts, nodes = parse_options(args)
    host_ips = {host: host_ip, **dict(opts["hosts"])}
    containers = {}
    hostvars = {host: physical_hostvars(host, host_ip, bridge, "haproxy_hosts", "haproxy", "haproxy")}
    for name, ip in opts["hosts"]:
        hostvars[name] = physical_hostvars(name, ip, bridge, "haproxy_hosts", "haproxy", "haproxy")
    by_kind = {k: [] for k in KINDS}
    hosts_of_kind = {k: [] for k in KINDS}
    for spec in nodes:
        name, rest = spec.split("=", 1)
        rest, _, on = rest.partition("@")
        on = on or host
        ip, style, kind = rest.split(":", 2)
        containers.setdefault(on, []).append(name)
        by_kind[kind].append(name)
        if on not in hosts_of_kind[kind]:
            hosts_of_kind[kind].append(on)
        hv = container_hostvars(name, ip, style, kind, on, host_ips[on], bridge)
        if opts["release_keys"] and style == "old":
            # physical_host_addr came with 2026.1 (openstack-ansible a71334d37): an entry
            # of the old naming era has only physical_host, whose ansible_host ssh uses.
            del hv["physical_host_addr"]
        hostvars[name] = hv
    metal_groups = []
    for name, ip, kind in opts["metal"]:
        skel, components, _, service, _ = KINDS[kind]
        hv = physical_hostvars(name, ip, bridge, "compute_hosts", components[0], service)
        # copied from openstack_user_config.yml's host_vars, as generate.py does
        hv["ansible_user"] = "root"
        hostvars[name] = hv
        by_kind[kind].append(name)
        metal_groups.append(name)

    def group(hosts=(), children=()):
        return {"children": list(children), "hosts": list(hosts)}

    # each kind's container group, component groups and *_all group
    kind_groups = {}
    for kind, (skel, components, host_group, service, parent) in KINDS.items():
        names = by_kind[kind]
        if not names:
            continue
        kind_groups[skel] = {"hosts": [n for n in names if n not in metal_groups]}
        for c in components:
            kind_groups[c] = group(hosts=names)
            kind_groups[f"{c}_all"] = group(children=[c])
        kind_groups.setdefault(host_group, group(hosts=hosts_of_kind[kind] or [host]))
        kind_groups.setdefault(parent, group())["children"].append(skel)
    kind_groups["heat_all"] = group(children=["heat_api", "heat_api_cfn", "heat_engine"])
    lxc_hosts = [h for h in host_ips if h in containers] or [host]
    lb = list(host_ips)
    physical_groups = {"haproxy_hosts", "lxc_hosts", "repo-infra_hosts"}
    if metal_groups:
        physical_groups.add("compute_hosts")
        kind_groups["compute_hosts"] = group(hosts=metal_groups)

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
        "hosts": group(children=sorted(physical_groups | {
            k[2] for kind, k in KINDS.items() if by_kind[kind]})),
        **kind_groups,
        **{f"{h}_host_containers": {"hosts": names} for h, names in containers.items()},
        "lxc_hosts": group(hosts=lxc_hosts),
        "haproxy_hosts": group(hosts=lb),
        "haproxy_container": {"hosts": lb},
        "haproxy": group(hosts=lb),
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
