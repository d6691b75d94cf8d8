//! Every git config key git-osa reads, with the option and the environment variable that
//! set it too, in one list: [`KEYS`]. `git osa config` lists them in this order, and the
//! man page's CONFIGURATION and ENVIRONMENT and the README's table are generated from it
//! (`tests/generated` fails when a committed copy differs).

/// How git-osa reads a key's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// git's booleans (true/yes/on/1, false/no/off/0).
    Bool,
    /// `~/` expanded as git's `--type=path` does.
    Path,
    /// Multi-valued: every value counts, an empty one starts the list again.
    List,
}

/// The command-line option that sets a key.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    /// clap's id (the field of `cli.rs`).
    pub id: &'static str,
    /// `--container`.
    pub flag: &'static str,
    /// clap's id of the option that turns it off (`--no-restore-on-exit`), if any.
    pub negated: Option<&'static str>,
}

/// One key.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// As `git config` spells it: `osa.restoreOnExit`.
    pub name: &'static str,
    pub kind: Kind,
    pub option: Option<Opt>,
    /// The environment variable, above git config.
    pub env: Option<&'static str>,
    /// What it does, one sentence in Markdown (backticks for code).
    pub what: &'static str,
}

impl Key {
    /// The option as the README writes it: `--[no-]restore-on-exit`.
    pub fn flag_display(&self) -> Option<String> {
        let opt = self.option?;
        Some(match opt.negated {
            Some(_) => format!("--[no-]{}", &opt.flag[2..]),
            None => opt.flag.to_string(),
        })
    }
}

pub const CONTAINER: Key = Key {
    name: "osa.container",
    kind: Kind::Text,
    option: Some(Opt {
        id: "container",
        flag: "--container",
        negated: None,
    }),
    env: Some("GIT_OSA_CONTAINER"),
    what: "the container a run uses when the service has several (not restore's \
           `--container`); an empty value unsets one from a wider scope",
};

pub const SERVICE: Key = Key {
    name: "osa.service",
    kind: Kind::List,
    option: Some(Opt {
        id: "services",
        flag: "--service",
        negated: None,
    }),
    env: Some("GIT_OSA_SERVICE"),
    what: "the units a run swaps (all when unset); `git config --add` one per unit, an empty \
           value starts the list again; the variable takes them comma-separated",
};

pub const PUBLIC_INDEX: Key = Key {
    name: "osa.publicIndex",
    kind: Kind::Text,
    // `--allow-public-index URL` allows an index, which is more than offering one.
    option: None,
    env: Some("GIT_OSA_PUBLIC_INDEX"),
    what: "the index offered (never used without asking or `--allow-public-index`) when the \
           repo server lacks a requirement; under it, `public_index` in the TOML file; \
           default `https://pypi.org/simple`",
};

pub const RESTORE_ON_EXIT: Key = Key {
    name: "osa.restoreOnExit",
    kind: Kind::Bool,
    option: Some(Opt {
        id: "restore_on_exit",
        flag: "--restore-on-exit",
        negated: Some("no_restore_on_exit"),
    }),
    env: Some("GIT_OSA_RESTORE_ON_EXIT"),
    what: "restore production when the dev process stops",
};

pub const DETACH: Key = Key {
    name: "osa.detach",
    kind: Kind::Bool,
    option: Some(Opt {
        id: "detach",
        flag: "--detach",
        negated: None,
    }),
    env: Some("GIT_OSA_DETACH"),
    what: "a run starts the dev units detached and returns",
};

pub const DB_SNAPSHOT: Key = Key {
    name: "osa.dbSnapshot",
    kind: Kind::Bool,
    option: Some(Opt {
        id: "db_snapshot",
        flag: "--db-snapshot",
        negated: Some("no_db_snapshot"),
    }),
    env: Some("GIT_OSA_DB_SNAPSHOT"),
    what: "dump the service's database before the session's first db sync, for restore to \
           load back (default: on for `git osa review`, off for `git osa run`)",
};

pub const INVENTORY: Key = Key {
    name: "osa.inventory",
    kind: Kind::Path,
    option: Some(Opt {
        id: "inventory",
        flag: "--inventory",
        negated: None,
    }),
    env: Some("GIT_OSA_INVENTORY"),
    what: "OSA's inventory (default `openstack_inventory.json` in OSA's `OSA_CONFIG_DIR` when \
           it is set, else `/etc/openstack_deploy/openstack_inventory.json`)",
};

pub const LXC_PATH: Key = Key {
    name: "osa.lxcPath",
    kind: Kind::Path,
    option: Some(Opt {
        id: "lxc_path",
        flag: "--lxc-path",
        negated: None,
    }),
    env: Some("GIT_OSA_LXC_PATH"),
    what: "the containers' LXC path (LXC's default when unset)",
};

pub const DEPLOY_HOST: Key = Key {
    name: "osa.deployHost",
    kind: Kind::Text,
    option: Some(Opt {
        id: "deploy_host",
        flag: "--deploy-host",
        negated: None,
    }),
    env: Some("GIT_OSA_DEPLOY_HOST"),
    what: "the deployment's deploy host, as ssh names it (`[user@]host`), when git-osa runs \
           elsewhere (a laptop): the inventory is read there and the hosts are reached through \
           it; an empty value unsets one from a wider scope",
};

pub const SSH_CONFIG: Key = Key {
    name: "osa.sshConfig",
    kind: Kind::Path,
    option: None,
    env: Some("GIT_OSA_SSH_CONFIG"),
    what: "an ssh config file git-osa's ssh reads instead of `~/.ssh/config` (`ssh -F`)",
};

pub const HAPROXY_SOCKET: Key = Key {
    name: "osa.haproxySocket",
    kind: Kind::Path,
    option: Some(Opt {
        id: "haproxy_socket",
        flag: "--haproxy-socket",
        negated: None,
    }),
    env: Some("GIT_OSA_HAPROXY_SOCKET"),
    what: "HAProxy's admin socket (default `/var/run/haproxy.stat`)",
};

pub const GERRIT_URL: Key = Key {
    name: "osa.gerritUrl",
    kind: Kind::Text,
    option: None,
    env: None,
    what: "where `git osa review` asks Gerrit's REST API (a Change-Id, a change's owner), \
           e.g. `https://review.opendev.org/`; when unset, `https://HOST/` of `.gitreview`'s \
           host or of the Gerrit remote, and a change named by number is found with git alone",
};

pub const CHECKOUTS: Key = Key {
    name: "osa.checkouts",
    kind: Kind::Path,
    option: None,
    env: None,
    what: "the folder of your checkouts, where `git osa review` looks first for the \
           checkout of a project a Depends-On footer names (then beside this checkout, then \
           in git-osa's cache)",
};

pub const REBUILD_COMMAND: Key = Key {
    name: "osa.rebuildCommand",
    kind: Kind::List,
    option: None,
    env: None,
    what: "the commands `git osa rebuild` runs on the deploy host to destroy and recreate a \
           container and rerun its service's playbook, one per value, in order, split as a \
           shell would (no shell runs them), `{container}` and `{service}` replaced; an \
           empty value starts the list again; when unset, the commands OSA documents for \
           the deployment's release (`git osa rebuild --dry-run` shows them)",
};

/// Every key, in the order `git osa config` lists them.
pub const KEYS: [Key; 14] = [
    CONTAINER,
    SERVICE,
    PUBLIC_INDEX,
    RESTORE_ON_EXIT,
    DETACH,
    DB_SNAPSHOT,
    INVENTORY,
    LXC_PATH,
    DEPLOY_HOST,
    SSH_CONFIG,
    HAPROXY_SOCKET,
    GERRIT_URL,
    CHECKOUTS,
    REBUILD_COMMAND,
];
