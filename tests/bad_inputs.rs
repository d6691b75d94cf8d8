//! The bad inputs table: for each input git-osa cannot act on, what the user sees, the
//! exit code, and the proof that nothing changed.
//!
//! Every row runs the real binary in its own temp dirs: where it runs (`$CWD`: a checkout
//! with a commit, a stash entry, a modified, an untracked and an ignored file, unless the
//! row says otherwise), the files the row gives (`$IN`), an empty LXC path (`$LXC`, as
//! `GIT_OSA_LXC_PATH`) and an empty home (`$HOME`, where the user's config would be). After
//! the run the checkout's `git status`, `git stash list` and HEAD, and every file outside
//! `.git` in those four places, must be what they were before.
//!
//! What the rows saw is committed as `tests/bad-inputs.md`, and this test fails when it is
//! stale: `GIT_OSA_BAD_INPUTS_TABLE=tests/bad-inputs.md cargo test --test bad_inputs`
//! rewrites it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Where `git osa` runs.
#[derive(Clone, Copy)]
enum Dir {
    /// A directory that is not in a git checkout.
    Plain,
    /// A bare repository.
    Bare,
    /// A checkout named by its `.gitreview` project and its `origin` URL, where given.
    Checkout {
        gitreview: Option<&'static str>,
        origin: Option<&'static str>,
    },
}

const KEYSTONE: Dir = Dir::Checkout {
    gitreview: Some("openstack/keystone"),
    origin: None,
};

struct Case {
    name: &'static str,
    dir: Dir,
    /// Files written into `$IN` before the run.
    files: &'static [(&'static str, &'static [u8])],
    /// Environment for this row (`$IN` and the other places are filled in).
    env: &'static [(&'static str, &'static str)],
    /// The arguments after `git osa` (`$IN` and the other places are filled in).
    argv: &'static [&'static str],
    exit: i32,
    /// What stderr must say (with the places written as `$IN`, `$CWD`, ...).
    says: &'static str,
}

const ONE_KEYSTONE: &[u8] = br#"{"_meta": {"hostvars": {"aio1-keystone-container-b7d24e95": {"container_name": "aio1-keystone-container-b7d24e95", "physical_host": "aio1", "management_address": "172.29.236.12"}}}, "keystone_all": {"hosts": ["aio1-keystone-container-b7d24e95"]}}"#;

const TWO_KEYSTONES: &[u8] = br#"{"_meta": {"hostvars": {"aio1_keystone_container-6c0f3a1e": {"container_name": "aio1_keystone_container-6c0f3a1e", "physical_host": "aio1", "container_address": "172.29.236.11"}, "aio1-keystone-container-b7d24e95": {"container_name": "aio1-keystone-container-b7d24e95", "physical_host": "aio1", "management_address": "172.29.236.12"}}}, "keystone_all": {"hosts": ["aio1_keystone_container-6c0f3a1e", "aio1-keystone-container-b7d24e95"]}}"#;

/// keystone's container on infra2, which ssh cannot reach: 0.0.0.0 is none of this
/// machine's addresses, so git-osa takes infra2 for another host, and Linux refuses the
/// connection at once (nothing listens on port 1).
const KEYSTONE_ON_INFRA2: &[u8] = br#"{"_meta": {"hostvars": {"infra2": {"ansible_host": "0.0.0.0", "ansible_port": 1}, "infra2-keystone-container-b7d24e95": {"container_name": "infra2-keystone-container-b7d24e95", "physical_host": "infra2", "management_address": "172.29.236.112"}}}, "keystone_all": {"hosts": ["infra2-keystone-container-b7d24e95"]}}"#;

/// HAProxy on infra2 only, which ssh cannot reach; keystone here.
const HAPROXY_ON_INFRA2: &[u8] = br#"{"_meta": {"hostvars": {"infra2": {"ansible_host": "0.0.0.0", "ansible_port": 1}, "aio1-keystone-container-b7d24e95": {"container_name": "aio1-keystone-container-b7d24e95", "physical_host": "aio1", "management_address": "172.29.236.12"}}}, "keystone_all": {"hosts": ["aio1-keystone-container-b7d24e95"]}, "haproxy": {"hosts": ["infra2"]}}"#;

/// Bytes that are not text: every one has its high bit set, and the first is a UTF-8
/// continuation byte.
const NOISE: [u8; 256] = {
    let mut b = [0u8; 256];
    let mut i = 0;
    while i < b.len() {
        b[i] = (i * 7919 % 251) as u8 | 0x80;
        i += 1;
    }
    b
};

/// A [[service]] that is fine apart from what a row adds or takes away.
macro_rules! service {
    ($($line:literal),* $(,)?) => {
        concat!(
            "# services of my own\n\n[[service]]\n",
            $($line, "\n",)*
            "projects = ['openstack/mylib']\npackages = ['mylib']\nuser = 'root'\n"
        )
    };
}

/// A [[service.unit]] of that service, with the lines a row gives.
macro_rules! unit {
    ($($line:literal),* $(,)?) => {
        concat!("\n[[service.unit]]\nname = 'mylib-api'\n", $($line, "\n",)*)
    };
}

/// Everything else a row leaves out: a keystone checkout, no files, no environment.
const GIVEN: Case = Case {
    name: "",
    dir: KEYSTONE,
    files: &[],
    env: &[],
    argv: &[],
    exit: 0,
    says: "",
};

#[rustfmt::skip]
const CASES: &[Case] = &[
    Case {
        name: "not a git checkout", dir: Dir::Plain,
        argv: &["status"], exit: 2,
        says: "$CWD is not in a git checkout",
        ..GIVEN
    },
    Case {
        name: "a bare repository", dir: Dir::Bare,
        argv: &[], exit: 2,
        says: "is a bare repository: there is no checkout to run",
        ..GIVEN
    },
    Case {
        name: "a project nothing names", dir: Dir::Checkout { gitreview: None, origin: None },
        argv: &["status"], exit: 2,
        says: "no .gitreview, setup.cfg, pyproject.toml or remote names it",
        ..GIVEN
    },
    Case {
        name: ".gitreview names an unknown project",
        dir: Dir::Checkout { gitreview: Some("openstack/frobnicator"), origin: None },
        argv: &[], exit: 2,
        says: "is not a project git-osa knows (.gitreview project openstack/frobnicator)",
        ..GIVEN
    },
    Case {
        name: "the remote names an unknown project",
        dir: Dir::Checkout { gitreview: None,
                             origin: Some("https://opendev.org/openstack/frobnicator.git") },
        argv: &["restore"], exit: 2,
        says: "is not a project git-osa knows (remote openstack/frobnicator)",
        ..GIVEN
    },
    Case {
        name: "config is not TOML",
        files: &[("cfg.toml", b"public_index = https://pypi.org/simple\n")],
        argv: &["status", "--config", "$IN/cfg.toml"], exit: 2,
        says: "$IN/cfg.toml is not valid: TOML parse error at line 1",
        ..GIVEN
    },
    Case {
        name: "config with an unknown top-level key",
        files: &[("cfg.toml", b"publik_index = 'https://pypi.org/simple'\n")],
        argv: &["status", "--config", "$IN/cfg.toml"], exit: 2,
        says: "unknown field `publik_index`, expected one of `public_index`, `service`, `patch`",
        ..GIVEN
    },
    Case {
        name: "config with a top-level value of the wrong type",
        files: &[("cfg.toml", b"public_index = 5\n")],
        argv: &["status", "--config", "$IN/cfg.toml"], exit: 2,
        says: "invalid type: integer `5`, expected a string",
        ..GIVEN
    },
    Case {
        name: "[[service]] with an unknown key",
        files: &[("cfg.toml", concat!(service!("name = 'mylib'", "venvv = 'mylib'"),
                                unit!("groups = ['mylib_all']", "runs = 'console'")).as_bytes())],
        argv: &["status", "--config", "$IN/cfg.toml"], exit: 2,
        says: "TOML parse error at line 5, column 1",
        ..GIVEN
    },
    Case {
        name: "[[service]] without a name",
        files: &[("cfg.toml", service!().as_bytes())],
        argv: &["status", "--config", "$IN/cfg.toml"], exit: 2,
        says: "missing field `name`",
        ..GIVEN
    },
    Case {
        name: "[[service]] with an empty unit list",
        files: &[("cfg.toml", service!("name = 'mylib'", "unit = []").as_bytes())],
        argv: &["status", "--config", "$IN/cfg.toml"], exit: 2,
        says: "$IN/cfg.toml: service `mylib` has no [[service.unit]]",
        ..GIVEN
    },
    Case {
        name: "[[service]] without units",
        files: &[("cfg.toml", service!("name = 'mylib'").as_bytes())],
        argv: &["status", "--config", "$IN/cfg.toml"], exit: 2,
        says: "missing field `unit`",
        ..GIVEN
    },
    Case {
        name: "[[service.unit]] that runs an unknown way",
        files: &[("cfg.toml", concat!(service!("name = 'mylib'"),
                                unit!("groups = ['mylib_all']", "runs = 'docker'")).as_bytes())],
        argv: &["status", "--config", "$IN/cfg.toml"], exit: 2,
        says: "unknown variant `docker`, expected one of `uwsgi`, `console`, `apache`",
        ..GIVEN
    },
    Case {
        name: "[[service.unit]] without groups",
        files: &[("cfg.toml", concat!(service!("name = 'mylib'"),
                                unit!("groups = []", "runs = 'console'")).as_bytes())],
        argv: &["status", "--config", "$IN/cfg.toml"], exit: 2,
        says: "unit `mylib-api` of `mylib` has no groups",
        ..GIVEN
    },
    Case {
        name: "--config names a missing file",
        argv: &["--config", "$IN/nosuch.toml"], exit: 2,
        says: "config file $IN/nosuch.toml does not exist",
        ..GIVEN
    },
    Case {
        name: "GIT_OSA_CONFIG names a missing file",
        env: &[("GIT_OSA_CONFIG", "$IN/nosuch.toml")],
        argv: &["restore"], exit: 2,
        says: "config file $IN/nosuch.toml does not exist",
        ..GIVEN
    },
    Case {
        name: "--inventory names a missing file",
        argv: &["status", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "cannot read the OSA inventory $IN/openstack_inventory.json: No such file or directory",
        ..GIVEN
    },
    Case {
        name: "--inventory names a directory",
        argv: &["--inventory", "$IN"], exit: 2,
        says: "cannot read the OSA inventory $IN: Is a directory",
        ..GIVEN
    },
    Case {
        name: "inventory is not JSON",
        files: &[("openstack_inventory.json", b"keystone_all:\n  hosts: [aio1]\n")],
        argv: &["status", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "$IN/openstack_inventory.json is not an OSA inventory: it is not JSON",
        ..GIVEN
    },
    Case {
        name: "inventory is random bytes",
        files: &[("openstack_inventory.json", &NOISE)],
        argv: &["status", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "it is not JSON, not even text (byte 0 is not UTF-8)",
        ..GIVEN
    },
    Case {
        name: "inventory is empty",
        files: &[("openstack_inventory.json", b"")],
        argv: &["--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "it is not JSON (EOF while parsing a value at line 1 column 0)",
        ..GIVEN
    },
    Case {
        name: "inventory is a JSON array",
        files: &[("openstack_inventory.json", b"[\"aio1-keystone-container-b7d24e95\"]")],
        env: &[("GIT_OSA_INVENTORY", "$IN/openstack_inventory.json")],
        argv: &["status"], exit: 2,
        says: "the top level is a list, not an object of groups",
        ..GIVEN
    },
    Case {
        name: "hostvars of the wrong type",
        files: &[("openstack_inventory.json", br#"{"_meta": {"hostvars": {"aio1-keystone-container-b7d24e95": {"container_name": 5, "physical_host": [], "management_address": {}}}}, "keystone_all": {"hosts": ["aio1-keystone-container-b7d24e95"]}}"#)],
        argv: &["status", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "host `aio1-keystone-container-b7d24e95` in `_meta.hostvars` has `container_name` = 5 (a number), not a string",
        ..GIVEN
    },
    Case {
        name: "a host's vars are not an object",
        files: &[("openstack_inventory.json", br#"{"_meta": {"hostvars": {"aio1-keystone-container-b7d24e95": "172.29.236.12"}}, "keystone_all": {"hosts": ["aio1-keystone-container-b7d24e95"]}}"#)],
        argv: &["--inventory", "$IN/openstack_inventory.json", "--dry-run"], exit: 2,
        says: "host `aio1-keystone-container-b7d24e95` in `_meta.hostvars` is \"172.29.236.12\" (a string), not an object of variables",
        ..GIVEN
    },
    Case {
        name: "group hosts of the wrong type",
        files: &[("openstack_inventory.json", br#"{"keystone_all": {"hosts": "aio1-keystone-container-b7d24e95"}}"#)],
        argv: &["status", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "group `keystone_all` has `hosts` = \"aio1-keystone-container-b7d24e95\" (a string), not a list of names",
        ..GIVEN
    },
    Case {
        name: "group children of the wrong type",
        files: &[("openstack_inventory.json", br#"{"keystone_all": {"children": 3, "hosts": []}}"#)],
        argv: &["restore", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "group `keystone_all` has `children` = 3 (a number), not a list of names",
        ..GIVEN
    },
    Case {
        name: "inventory without the service's groups",
        files: &[("openstack_inventory.json", br#"{"nova_api": {"hosts": ["aio1-nova-api-container-1f2e3d4c"]}}"#)],
        argv: &["status", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "the inventory $IN/openstack_inventory.json has no hosts in keystone_all (the groups of keystone)",
        ..GIVEN
    },
    Case {
        name: "restore --all with a malformed inventory",
        files: &[("openstack_inventory.json", b"{\"keystone_all\": 7}")],
        argv: &["restore", "--all", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "group `keystone_all` is 7 (a number), not an object with `hosts` and `children`",
        ..GIVEN
    },
    Case {
        name: "no inventory and no matching containers",
        argv: &["status"], exit: 2,
        says: "no OSA inventory at /etc/openstack_deploy/openstack_inventory.json and no LXC container named like *_keystone_*_container-* in $LXC",
        ..GIVEN
    },
    Case {
        name: "several containers, no terminal, no --container",
        files: &[("openstack_inventory.json", TWO_KEYSTONES)],
        argv: &["--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "the service runs in 2 containers: aio1-keystone-container-b7d24e95, aio1_keystone_container-6c0f3a1e",
        ..GIVEN
    },
    Case {
        name: "run --container nosuch",
        files: &[("openstack_inventory.json", TWO_KEYSTONES)],
        argv: &["run", "--inventory", "$IN/openstack_inventory.json", "--container", "nosuch"], exit: 2,
        says: "nosuch is not one of keystone's containers",
        ..GIVEN
    },
    Case {
        name: "restore --container nosuch",
        files: &[("openstack_inventory.json", TWO_KEYSTONES)],
        argv: &["restore", "--inventory", "$IN/openstack_inventory.json", "--container", "nosuch"], exit: 2,
        says: "nosuch is not one of keystone's containers",
        ..GIVEN
    },
    Case {
        name: "restore --all --container x",
        argv: &["restore", "--all", "--container", "aio1-keystone-container-b7d24e95"], exit: 2,
        says: "the argument '--all' cannot be used with '--container <NAME>'",
        ..GIVEN
    },
    Case {
        name: "--service nosuch",
        files: &[("openstack_inventory.json", ONE_KEYSTONE)],
        argv: &["--inventory", "$IN/openstack_inventory.json", "--service", "nosuch"], exit: 2,
        says: "nosuch is not a unit of this service in aio1-keystone-container-b7d24e95: keystone-wsgi-public",
        ..GIVEN
    },
    Case {
        name: "--service with a unit of another service",
        files: &[("openstack_inventory.json", TWO_KEYSTONES)],
        argv: &["--inventory", "$IN/openstack_inventory.json", "--container", "aio1_keystone_container-6c0f3a1e", "--service", "heat-engine"], exit: 2,
        says: "heat-engine is not a unit of this service in aio1_keystone_container-6c0f3a1e",
        ..GIVEN
    },
    Case {
        name: "a container the inventory names but LXC lacks (run)",
        files: &[("openstack_inventory.json", ONE_KEYSTONE)],
        argv: &["run", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "container aio1-keystone-container-b7d24e95 is MISSING: nothing was changed",
        ..GIVEN
    },
    Case {
        name: "a container the inventory names but LXC lacks (status)",
        files: &[("openstack_inventory.json", ONE_KEYSTONE)],
        argv: &["status", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "container aio1-keystone-container-b7d24e95 does not exist: rebuild it",
        ..GIVEN
    },
    Case {
        name: "a container on a host ssh cannot reach (status)",
        files: &[("openstack_inventory.json", KEYSTONE_ON_INFRA2)],
        argv: &["status", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "cannot reach infra2 (0.0.0.0 port 1) with ssh",
        ..GIVEN
    },
    Case {
        name: "a container on a host ssh cannot reach (run)",
        files: &[("openstack_inventory.json", KEYSTONE_ON_INFRA2)],
        argv: &["run", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "cannot reach infra2 (0.0.0.0 port 1) with ssh",
        ..GIVEN
    },
    Case {
        name: "a HAProxy node ssh cannot reach (status)",
        files: &[("openstack_inventory.json", HAPROXY_ON_INFRA2)],
        argv: &["status", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "cannot reach infra2 (0.0.0.0 port 1) with ssh",
        ..GIVEN
    },
    Case {
        name: "an unknown subcommand",
        argv: &["stauts"], exit: 2,
        says: "unrecognized subcommand 'stauts'",
        ..GIVEN
    },
    Case {
        name: "an unknown flag",
        argv: &["--dryrun"], exit: 2,
        says: "unexpected argument '--dryrun' found",
        ..GIVEN
    },
    Case {
        name: "a flag of another subcommand",
        argv: &["restore", "--service", "keystone-wsgi-public"], exit: 2,
        says: "unexpected argument '--service' found",
        ..GIVEN
    },
    Case {
        name: "--allow-public-index without a value",
        argv: &["--allow-public-index"], exit: 2,
        says: "a value is required for '--allow-public-index <URL>' but none was supplied",
        ..GIVEN
    },
    Case {
        name: "GIT_OSA_DB_SNAPSHOT that is not a boolean",
        env: &[("GIT_OSA_DB_SNAPSHOT", "maybe")],
        argv: &["run"], exit: 2,
        says: "invalid value 'maybe' for '--db-snapshot'",
        ..GIVEN
    },
    Case {
        name: "review: not a change",
        argv: &["review", "12345x"], exit: 2,
        says: "`12345x` does not name a Gerrit change",
        ..GIVEN
    },
    Case {
        name: "review: a Change-Id, Gerrit unreachable",
        files: &[("openstack_inventory.json", ONE_KEYSTONE)],
        env: &[("GIT_CONFIG_COUNT", "1"), ("GIT_CONFIG_KEY_0", "osa.gerritUrl"), ("GIT_CONFIG_VALUE_0", "http://127.0.0.1:9/")],
        argv: &["review", "I0123456789abcdef0123456789abcdef01234567", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "cannot reach Gerrit's REST API at http://127.0.0.1:9/changes/?q=change:I0123456789abcdef0123456789abcdef01234567&o=DETAILED_ACCOUNTS: ",
        ..GIVEN
    },
    Case {
        name: "review: a change of another project",
        argv: &["review", "https://review.opendev.org/c/openstack/nova/+/12345"], exit: 2,
        says: "change 12345 is a change of openstack/nova, and this checkout is openstack/keystone: nothing was changed",
        ..GIVEN
    },
    Case {
        name: "review: two different patchsets",
        argv: &["review", "12345,2", "--patchset", "3"], exit: 2,
        says: "12345,2 names patchset 2 and --patchset 3: which one?",
        ..GIVEN
    },
    Case {
        name: "review without a change",
        argv: &["review"], exit: 2,
        says: "the following required arguments were not provided",
        ..GIVEN
    },
    Case {
        name: "review --clean with a change",
        argv: &["review", "--clean", "12345"], exit: 2,
        says: "the argument '--clean' cannot be used with '[CHANGE]'",
        ..GIVEN
    },
    Case {
        name: "review: no gerrit remote and no .gitreview",
        dir: Dir::Checkout { gitreview: None, origin: Some("https://opendev.org/openstack/keystone") },
        files: &[("openstack_inventory.json", ONE_KEYSTONE)],
        argv: &["review", "12345", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "$CWD has no remote named gerrit and no .gitreview naming a Gerrit host and project",
        ..GIVEN
    },
    Case {
        name: "--with a folder that is not a checkout",
        files: &[("notes.txt", b"not a checkout\n")],
        argv: &["--with", "$IN"], exit: 2,
        says: "--with $IN: $IN is not in a git checkout; nothing was changed",
        ..GIVEN
    },
    Case {
        name: "--with the service's own checkout",
        argv: &["--with", "$CWD"], exit: 2,
        says: "--with $CWD: that is keystone, the service itself; nothing was changed",
        ..GIVEN
    },
    Case {
        name: "status with extra arguments",
        argv: &["status", "keystone"], exit: 2,
        says: "unexpected argument 'keystone' found",
        ..GIVEN
    },
    Case {
        name: "stop where no container is in dev mode",
        files: &[("openstack_inventory.json", ONE_KEYSTONE)],
        argv: &["stop", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "no container of keystone is in dev mode",
        ..GIVEN
    },
    Case {
        name: "sync into a container of another service",
        files: &[("openstack_inventory.json", ONE_KEYSTONE)],
        argv: &["sync", "--inventory", "$IN/openstack_inventory.json", "--container", "aio1_heat_engine_container-1"], exit: 2,
        says: "aio1_heat_engine_container-1 is not one of keystone's containers",
        ..GIVEN
    },
    Case {
        name: "--detach with --restore-on-exit",
        argv: &["run", "--detach", "--restore-on-exit"], exit: 2,
        says: "the argument '--detach' cannot be used with '--restore-on-exit'",
        ..GIVEN
    },
    Case {
        name: "the hooks' log outside a checkout", dir: Dir::Plain,
        argv: &["logs", "--hooks"], exit: 2,
        says: "not in a git checkout",
        ..GIVEN
    },
    Case {
        name: "watch outside a checkout", dir: Dir::Plain,
        argv: &["watch", "--detach"], exit: 2,
        says: "not in a git checkout",
        ..GIVEN
    },
    Case {
        name: "watch a container of another service",
        files: &[("openstack_inventory.json", ONE_KEYSTONE)],
        argv: &["watch", "--inventory", "$IN/openstack_inventory.json", "--container", "aio1_heat_engine_container-1"], exit: 2,
        says: "aio1_heat_engine_container-1 is not one of keystone's containers",
        ..GIVEN
    },
    Case {
        name: "the watcher's log and the hooks' at once",
        argv: &["logs", "--watch", "--hooks"], exit: 2,
        says: "cannot be used with",
        ..GIVEN
    },
    Case {
        name: "hooks without what to do",
        argv: &["hooks"], exit: 2,
        says: "'git osa hooks' requires a subcommand but one was not provided",
        ..GIVEN
    },
    Case {
        name: "the hooks' log of one unit",
        argv: &["logs", "--hooks", "--unit", "keystone-wsgi-public"], exit: 2,
        says: "the argument '--hooks' cannot be used with '--unit <UNIT>'",
        ..GIVEN
    },
    Case {
        name: "review: a Change-Id, osa.gerritUrl not a URL",
        files: &[("openstack_inventory.json", ONE_KEYSTONE)],
        env: &[("GIT_CONFIG_COUNT", "1"), ("GIT_CONFIG_KEY_0", "osa.gerritUrl"), ("GIT_CONFIG_VALUE_0", "review.opendev.org")],
        argv: &["review", "I0123456789abcdef0123456789abcdef01234567", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "osa.gerritUrl is `review.opendev.org`, not an http(s) URL: nothing was changed",
        ..GIVEN
    },
    Case {
        name: "review: a Change-Id, no Gerrit known",
        dir: Dir::Checkout { gitreview: None, origin: Some("https://opendev.org/openstack/keystone") },
        files: &[("openstack_inventory.json", ONE_KEYSTONE)],
        argv: &["review", "I0123456789abcdef0123456789abcdef01234567", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "git-osa does not know where this checkout's Gerrit is (no osa.gerritUrl, no .gitreview host, no remote named gerrit), so it cannot look a Change-Id up: nothing was changed",
        ..GIVEN
    },
    Case {
        name: "GIT_DIR names no repository",
        env: &[("GIT_DIR", "$IN/nothing")],
        argv: &["status"], exit: 2,
        says: "git finds no checkout for GIT_DIR=$IN/nothing",
        ..GIVEN
    },
    Case {
        name: "--discard-newer-rows on a run (it is restore's)",
        argv: &["run", "--discard-newer-rows"], exit: 2,
        says: "unexpected argument '--discard-newer-rows'",
        ..GIVEN
    },
    Case {
        name: "test: a runner the project does not declare",
        argv: &["test", "--runner", "pytest"], exit: 2,
        says: "$CWD/ declares no test runner, so not pytest: nothing was changed",
        ..GIVEN
    },
    Case {
        name: "test: a project that declares no runner",
        argv: &["test", "keystone.tests.unit.test_exception"], exit: 2,
        says: "$CWD/ declares no test runner: nothing was changed",
        ..GIVEN
    },
    Case {
        name: "test: a runner git osa does not know",
        argv: &["test", "--runner", "nose"], exit: 2,
        says: "invalid value 'nose' for '--runner <RUNNER>'",
        ..GIVEN
    },
    Case {
        name: "exec without a command",
        argv: &["exec"], exit: 2,
        says: "the following required arguments were not provided:",
        ..GIVEN
    },
    Case {
        name: "exec with the command not after --",
        argv: &["exec", "python"], exit: 2,
        says: "unexpected argument 'python' found",
        ..GIVEN
    },
    Case {
        name: "conf set: a key that is not SECTION.KEY",
        argv: &["conf", "set", "keystone.conf", "debug", "True"], exit: 2,
        says: "`debug` is not SECTION.KEY: nothing was changed",
        ..GIVEN
    },
    Case {
        name: "conf set: a file outside the configuration's folders",
        argv: &["conf", "set", "../../root/.ssh/authorized_keys.conf", "a.b", "c"], exit: 2,
        says: "../../root/.ssh/authorized_keys.conf is not a file's path: nothing was changed",
        ..GIVEN
    },
    Case {
        name: "conf set: a file that is no ini nor policy",
        argv: &["conf", "set", "fernet-keys/0", "a.b", "c"], exit: 2,
        says: "git osa conf changes ini files (.conf, .ini, .cfg) and policies (.yaml, .json); /etc/keystone/fernet-keys/0 is neither: nothing was changed",
        ..GIVEN
    },
    Case {
        name: "conf without what to do",
        argv: &["conf"], exit: 2,
        says: "'git osa conf' requires a subcommand but one was not provided",
        ..GIVEN
    },
    Case {
        name: "run --conf without a value",
        argv: &["run", "--conf", "keystone.conf:DEFAULT.debug"], exit: 2,
        says: "--conf keystone.conf:DEFAULT.debug: no `=` before the value: nothing was changed",
        ..GIVEN
    },
    Case {
        name: "a debugger port in use",
        argv: &["run", "--debugpy=$BUSY_PORT"], exit: 2,
        says: "port $BUSY_PORT on this machine's loopback cannot be the debugger's (Address already in use (os error 98)): nothing was changed",
        ..GIVEN
    },
    Case {
        name: "--debug without a terminal",
        argv: &["run", "--debug"], exit: 2,
        says: "--debug needs a terminal: nothing was changed",
        ..GIVEN
    },
    Case {
        name: "--debug detached",
        argv: &["run", "--debug", "--detach"], exit: 2,
        says: "the argument '--debug[=<DEBUGGER>]' cannot be used with '--detach'",
        ..GIVEN
    },
    Case {
        name: "--debug with a debugger git osa does not know",
        argv: &["run", "--debug=gdb"], exit: 2,
        says: "invalid value 'gdb' for '--debug[=<DEBUGGER>]'",
        ..GIVEN
    },
    Case {
        name: "rebuild without a terminal and without --yes",
        argv: &["rebuild"], exit: 2,
        says: "git osa rebuild destroys a container: it asks first, on a terminal, and there is none: nothing was changed",
        ..GIVEN
    },
    Case {
        name: "rebuild with an empty osa.rebuildCommand",
        files: &[("openstack_inventory.json", ONE_KEYSTONE)],
        env: &[("GIT_CONFIG_COUNT", "2"), ("GIT_CONFIG_KEY_0", "osa.rebuildCommand"), ("GIT_CONFIG_VALUE_0", "true"), ("GIT_CONFIG_KEY_1", "osa.rebuildCommand"), ("GIT_CONFIG_VALUE_1", " ")],
        argv: &["rebuild", "--yes", "--inventory", "$IN/openstack_inventory.json"], exit: 2,
        says: "an osa.rebuildCommand value is empty (other than the first, which starts the list again): nothing was changed",
        ..GIVEN
    },
    Case {
        name: "shell without a terminal",
        argv: &["shell"], exit: 2,
        says: "git osa shell needs a terminal: nothing was run",
        ..GIVEN
    },
];

/// The temp dirs of one row.
struct World {
    _root: tempfile::TempDir,
    /// (placeholder, path): `CWD`, `IN`, `LXC`, `HOME`, siblings in one temp dir.
    places: Vec<(&'static str, PathBuf)>,
    /// A port of this machine's loopback that something listens on, for the row's run:
    /// `$BUSY_PORT`.
    busy: std::net::TcpListener,
}

impl World {
    fn new(case: &Case) -> World {
        let root = tempfile::tempdir().unwrap();
        let base = root.path().canonicalize().unwrap();
        let places: Vec<(&str, PathBuf)> = ["CWD", "IN", "LXC", "HOME"]
            .iter()
            .map(|p| (*p, base.join(p.to_lowercase())))
            .collect();
        for (_, p) in &places {
            std::fs::create_dir(p).unwrap();
        }
        let w = World {
            _root: root,
            places,
            busy: std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap(),
        };
        w.make_dir(case.dir);
        for (name, bytes) in case.files {
            std::fs::write(w.path("IN").join(name), bytes).unwrap();
        }
        w
    }

    fn path(&self, place: &str) -> &Path {
        &self.places.iter().find(|(p, _)| *p == place).unwrap().1
    }

    fn make_dir(&self, dir: Dir) {
        let cwd = self.path("CWD");
        let write = |rel: &str, text: &str| {
            let p = cwd.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        match dir {
            Dir::Plain => write("notes.txt", "not a checkout\n"),
            Dir::Bare => git(cwd, &["init", "-q", "--bare"]),
            Dir::Checkout { gitreview, origin } => {
                git(cwd, &["init", "-q", "-b", "master"]);
                if let Some(project) = gitreview {
                    write(
                        ".gitreview",
                        &format!(
                            "[gerrit]\nhost=review.opendev.org\nport=29418\nproject={project}.git\n"
                        ),
                    );
                }
                if let Some(url) = origin {
                    git(cwd, &["remote", "add", "origin", url]);
                }
                write(".gitignore", "*.pyc\n");
                write("pkg/__init__.py", "version = 1\n");
                git(cwd, &["add", "."]);
                git(cwd, &["commit", "-q", "-m", "init"]);
                write("pkg/__init__.py", "version = 2\n");
                git(cwd, &["stash", "-q"]);
                write("pkg/__init__.py", "version = 3\n");
                write("notes.txt", "untracked\n");
                write("pkg/cache.pyc", "ignored\n");
            }
        }
    }

    fn busy_port(&self) -> String {
        self.busy.local_addr().unwrap().port().to_string()
    }

    /// `text` with `$IN` and the other places filled in.
    fn fill(&self, text: &str) -> String {
        let mut out = text.replace("$BUSY_PORT", &self.busy_port());
        for (place, path) in &self.places {
            out = out.replace(&format!("${place}"), path.to_str().unwrap());
        }
        out
    }

    /// `text` with the places written back as `$IN`, ..., so rows read the same every run.
    fn unfill(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (place, path) in &self.places {
            out = out.replace(path.to_str().unwrap(), &format!("${place}"));
        }
        out.replace(&format!("port {} ", self.busy_port()), "port $BUSY_PORT ")
    }

    /// Everything a failed run must leave as it was.
    fn snapshot(&self) -> Vec<(String, String)> {
        let cwd = self.path("CWD");
        let mut out = Vec::new();
        for args in [
            &[
                "status",
                "--porcelain",
                "--ignored",
                "--untracked-files=all",
            ][..],
            &["stash", "list"],
            &["rev-parse", "HEAD"],
        ] {
            let o = Command::new("git")
                .env_remove("GIT_DIR")
                .env_remove("GIT_WORK_TREE")
                .env_remove("GIT_INDEX_FILE")
                .args(args)
                .current_dir(cwd)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            out.push((
                format!("git {}", args.join(" ")),
                format!(
                    "{:?} {}",
                    o.status.code(),
                    String::from_utf8_lossy(&o.stdout)
                ),
            ));
        }
        for (place, path) in &self.places {
            let mut files = Vec::new();
            walk(path, path, &mut files);
            out.push((format!("${place}"), files.join("\n")));
        }
        out
    }
}

/// Every file and directory under `dir` but `.git`, with the files' contents.
fn walk(top: &Path, dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let rel = p.strip_prefix(top).unwrap().display().to_string();
        if p.file_name().is_some_and(|n| n == ".git") {
            continue;
        }
        if p.is_dir() {
            out.push(format!("{rel}/"));
            walk(top, &p, out);
        } else {
            out.push(format!("{rel}: {:?}", std::fs::read(&p).unwrap()));
        }
    }
}

fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "git {args:?}");
}

fn git_osa(w: &World, case: &Case) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_git-osa"));
    cmd.args(case.argv.iter().map(|a| w.fill(a)))
        .current_dir(w.path("CWD"))
        .stdin(Stdio::null())
        .env("HOME", w.path("HOME"))
        .env("GIT_OSA_LXC_PATH", w.path("LXC"))
        .env("LC_ALL", "C")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    for var in [
        "XDG_CONFIG_HOME",
        "GIT_OSA_INVENTORY",
        "GIT_OSA_CONFIG",
        "GIT_OSA_HAPROXY_SOCKET",
        "GIT_OSA_CONTAINER",
        "GIT_OSA_SERVICE",
        "GIT_OSA_RESTORE_ON_EXIT",
        "GIT_OSA_DB_SNAPSHOT",
        "GIT_OSA_PUBLIC_INDEX",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "GIT_DIR",
        "GIT_WORK_TREE",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in case.env {
        cmd.env(k, w.fill(v));
    }
    cmd.output().unwrap()
}

/// What one row saw.
struct Seen {
    exit: Option<i32>,
    stdout: String,
    stderr: String,
    /// The places and git answers that differ after the run.
    changed: Vec<String>,
}

fn run(case: &Case) -> Seen {
    let w = World::new(case);
    let before = w.snapshot();
    let o = git_osa(&w, case);
    let after = w.snapshot();
    let changed = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a)
        .map(|(b, _)| b.0.clone())
        .collect();
    Seen {
        exit: o.status.code(),
        stdout: w.unfill(&String::from_utf8_lossy(&o.stdout)),
        stderr: w.unfill(&String::from_utf8_lossy(&o.stderr)),
        changed,
    }
}

/// What is wrong with a row, if anything.
fn check(case: &Case, seen: &Seen) -> Option<String> {
    let mut wrong = Vec::new();
    if seen.exit != Some(case.exit) {
        wrong.push(format!("exit {:?}, want {}", seen.exit, case.exit));
    }
    if !seen.stderr.contains(case.says) {
        wrong.push(format!("stderr lacks {:?}", case.says));
    }
    if !seen.changed.is_empty() {
        wrong.push(format!("changed: {}", seen.changed.join(", ")));
    }
    (!wrong.is_empty()).then(|| {
        format!(
            "{}: {}\n--- stdout\n{}--- stderr\n{}",
            case.name,
            wrong.join("; "),
            seen.stdout,
            seen.stderr
        )
    })
}

/// `text` as an inline code span that may sit in a table cell.
fn code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{}{pad}{fence}", text.replace('|', "\\|"))
}

fn given(case: &Case) -> String {
    let mut parts = vec![match case.dir {
        Dir::Plain => "a directory outside git".to_string(),
        Dir::Bare => "a bare repository".to_string(),
        Dir::Checkout { gitreview, origin } => {
            let mut names = Vec::new();
            if let Some(p) = gitreview {
                names.push(format!(".gitreview {}", code(p)));
            }
            if let Some(u) = origin {
                names.push(format!("origin {}", code(u)));
            }
            if names.is_empty() {
                "a checkout nothing names".to_string()
            } else {
                format!("a checkout, {}", names.join(", "))
            }
        }
    }];
    for (name, bytes) in case.files {
        let what = match std::str::from_utf8(bytes) {
            Ok("") => "empty".to_string(),
            Ok(text) => {
                let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
                let short = match flat.char_indices().nth(70) {
                    Some((i, _)) => format!("{}...", &flat[..i]),
                    None => flat,
                };
                code(&short)
            }
            Err(_) => format!("{} bytes that are not text", bytes.len()),
        };
        parts.push(format!("{}: {what}", code(&format!("$IN/{name}"))));
    }
    parts.join("<br>")
}

fn render(rows: &[(&Case, Seen)]) -> String {
    let mut out = String::from(
        "# Bad inputs\n\n\
         What `git osa` answers to input it cannot act on. Generated by `tests/bad_inputs.rs`, \
         which fails when this file is stale;\n\
         `GIT_OSA_BAD_INPUTS_TABLE=tests/bad-inputs.md cargo test --test bad_inputs` rewrites it.\n\n\
         Each row runs in its own temp dirs: `$CWD` (where `git osa` runs), `$IN` (the files the \
         row gives), `$LXC` (an empty LXC path, as `GIT_OSA_LXC_PATH`), `$HOME` (empty, no config).\n\
         *Nothing changed* means: the checkout's `git status --porcelain --ignored`, `git stash list` \
         and HEAD, and every file in the four dirs outside `.git`, are the same after the run.\n\n\
         | # | case | given | command | exit | what the user sees (stdout, then stderr) | nothing changed |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for (i, (case, seen)) in rows.iter().enumerate() {
        let mut command: Vec<String> = case.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        command.push("git osa".into());
        command.extend(case.argv.iter().map(|a| a.to_string()));
        let sees: Vec<String> = seen
            .stdout
            .lines()
            .chain(seen.stderr.lines())
            .filter(|l| !l.trim().is_empty())
            .map(code)
            .collect();
        let unchanged = if seen.changed.is_empty() {
            "yes".to_string()
        } else {
            format!("**no**: {}", seen.changed.join(", "))
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            case.name.replace('|', "\\|"),
            given(case),
            code(&command.join(" ")),
            seen.exit.map_or("signal".into(), |c| c.to_string()),
            sees.join("<br>"),
            unchanged
        );
    }
    out
}

#[test]
fn every_bad_input_is_named_exits_2_and_changes_nothing() {
    for premise in [
        "/etc/openstack_deploy/openstack_inventory.json",
        "/etc/git-osa/config.toml",
    ] {
        assert!(
            !Path::new(premise).exists(),
            "this test needs a host without {premise}"
        );
    }
    let rows: Vec<(&Case, Seen)> = std::thread::scope(|s| {
        let running: Vec<_> = CASES.iter().map(|c| (c, s.spawn(|| run(c)))).collect();
        running
            .into_iter()
            .map(|(c, t)| (c, t.join().unwrap()))
            .collect()
    });
    let mut failures: Vec<String> = rows.iter().filter_map(|(c, s)| check(c, s)).collect();

    let table = render(&rows);
    if let Some(path) = std::env::var_os("GIT_OSA_BAD_INPUTS_TABLE") {
        std::fs::write(&path, &table).unwrap();
    }
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-inputs.md");
    if std::fs::read_to_string(&committed).unwrap_or_default() != table {
        failures.push(
            "tests/bad-inputs.md is stale: run `GIT_OSA_BAD_INPUTS_TABLE=tests/bad-inputs.md \
             cargo test --test bad_inputs` and commit it"
                .into(),
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
