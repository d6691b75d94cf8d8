//! Every name git-osa creates in a container, in one place: the session's folder, the
//! transient systemd scopes its processes run in, the copy of the production venv, and
//! the oslo.config drop-in of the dev run.
//!
//! `run`, `restore` and `status` all find git-osa's traces by these names, so a name
//! changed here changes for all of them, and nothing else in a container is git-osa's.

/// Where sessions live in a container, one folder per service.
pub const ROOT: &str = "/var/lib/git-osa";

/// The oslo.config drop-in that sends a dev run's logs to the terminal.
pub const DROPIN: &str = "99-git-osa-dev.conf";
pub const DROPIN_TEXT: &str = "# Written by git-osa for a dev run: log to the terminal, not the journal.\n\
# `git osa restore` removes this file.\n[DEFAULT]\nuse_journal = false\nuse_stderr = true\n";

/// The oslo.config drop-in of `git osa conf set`: the development configuration of the
/// service's own configuration file.
pub const CONF_DROPIN: &str = "98-git-osa-conf.conf";

/// OSA's local facts, where the service's `venv_tag` is.
pub const FACTS: &str = "/etc/ansible/facts.d/openstack_ansible.fact";

/// The session record's name in its folder.
pub const SESSION: &str = "session.json";

/// Where git-osa keeps one service's session in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub service: String,
    pub dir: String,
}

impl Paths {
    pub fn new(service: &str) -> Paths {
        Paths {
            service: service.to_string(),
            dir: format!("{ROOT}/{service}"),
        }
    }
    pub fn session(&self) -> String {
        format!("{}/{SESSION}", self.dir)
    }
    pub fn lock(&self) -> String {
        format!("{}/lock", self.dir)
    }
    /// The synced checkout.
    pub fn src(&self) -> String {
        format!("{}/src", self.dir)
    }
    /// The synced checkout of a library installed `--with` the service (`with/<package>`,
    /// its `src` and `manifest` as the service's own).
    pub fn with_dir(&self, package: &str) -> String {
        format!("{}/with/{package}", self.dir)
    }
    /// The checkout's editable wheel, built for its install (`editable_wheel.py`).
    pub fn editable(&self) -> String {
        format!("{}/editable", self.dir)
    }
    /// What the container received at the last sync.
    pub fn manifest(&self) -> String {
        format!("{}/manifest", self.dir)
    }
    /// OSA's constraints minus the service's own pin.
    pub fn constraints(&self) -> String {
        format!("{}/constraints.txt", self.dir)
    }
    /// The snapshot `--db-snapshot` takes of the service's database before the session's
    /// first db sync (`sql`: a mysqldump; `sqlite`: a copy); restore takes from it what
    /// undoing the session's migrations needs.
    pub fn db_snapshot(&self, ext: &str) -> String {
        format!("{}/db-snapshot.{ext}", self.dir)
    }
    /// The database password the snapshot and its load read (mode 600), never on a
    /// command line.
    pub fn db_password(&self) -> String {
        format!("{}/db-password", self.dir)
    }
    /// The script a detached uWSGI unit's master runs before it forks its workers: it
    /// imports what the app imports except the code under development (every synced tree
    /// is in this folder), so that a reload's new workers import only that.
    pub fn uwsgi_preload(&self) -> String {
        format!("{}/uwsgi-preload.py", self.dir)
    }
    /// The script each dev uWSGI worker imports right before it loads the app, which
    /// it then loads with Python's garbage collector off (`uwsgi_app_load.py`).
    pub fn uwsgi_app_load(&self) -> String {
        format!("{}/uwsgi-app-load.py", self.dir)
    }
    /// The hot-patch agent a detached uWSGI master runs after the preload
    /// (`hot_patch.py`, `run --detach --hot-patch`).
    pub fn hot_patch(&self) -> String {
        format!("{}/hot-patch.py", self.dir)
    }
    /// Where a sync asks the hot-patch agents to patch (`request`) and each worker
    /// answers (`ack-PID`): the service user's, as the workers write there.
    pub fn hot_dir(&self) -> String {
        format!("{}/hot", self.dir)
    }
    /// What the service's configuration folders held when the session began: a tar that
    /// `git osa conf diff` compares with them and restore puts back.
    pub fn conf_before(&self) -> String {
        format!("{}/conf-before.tar", self.dir)
    }
    /// The venv `git osa test` runs the project's tests in: the test requirements,
    /// layered on the service's venv (whose packages it sees after its own), which it
    /// leaves as it is.
    pub fn test_venv(&self) -> String {
        format!("{}/test-venv", self.dir)
    }
    /// The transient scope long steps (sync, pip, db sync) run in, so that restore can
    /// stop whatever a killed git-osa left running before it touches the venv.
    pub fn step_scope(&self) -> String {
        format!("git-osa-step-{}.scope", self.service)
    }
    /// The transient scope of a db sync: never stopped by git-osa, only waited for (a
    /// migration cut in half is the worst state a database can be left in).
    pub fn dbsync_scope(&self) -> String {
        format!("git-osa-dbsync-{}.scope", self.service)
    }
    /// The transient scope of the venv copy, which runs beside the other steps.
    pub fn keep_scope(&self) -> String {
        format!("git-osa-keep-{}.scope", self.service)
    }
}

/// The transient scope a unit's dev process runs in.
pub fn dev_scope(unit: &str) -> String {
    format!("git-osa-dev-{unit}.scope")
}

/// The transient service a unit's detached dev process runs as (`git osa run --detach`):
/// it outlives the terminal, and its output is in the journal under this name.
pub fn dev_service(unit: &str) -> String {
    format!("git-osa-dev-{unit}.service")
}

/// The runtime folder systemd makes for a detached uWSGI dev unit (owned by its user, gone
/// when it stops), and the master FIFO in it: writing `w` there reloads the workers.
pub fn dev_runtime_dir(unit: &str) -> String {
    format!("git-osa-dev-{unit}")
}

pub fn dev_master_fifo(unit: &str) -> String {
    format!("/run/{}/master.fifo", dev_runtime_dir(unit))
}

/// The transient scope `git osa logs -f` follows the journal in, so that it can be
/// stopped when the user stops following (`lxc-attach` forwards no signal).
pub fn logs_scope(service: &str, pid: u32) -> String {
    format!("git-osa-logs-{service}-{pid}.scope")
}

/// Where the exact copy of the production venv lives: beside it (a rename away), hidden
/// from `/openstack/venvs/<service>-*`.
pub fn backup_path(venv: &str) -> String {
    match venv.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/.git-osa-prod-{name}"),
        None => format!(".git-osa-prod-{venv}"),
    }
}

/// Where restore sets the dev venv aside (a rename, then `.PID`) before it renames the
/// production venv back: removed in the background while production starts.
pub fn aside_path(venv: &str) -> String {
    match venv.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/.git-osa-dev-{name}"),
        None => format!(".git-osa-dev-{venv}"),
    }
}

/// The folder of oslo.config drop-ins for the service's config file (`<file>.d`).
pub fn dropin_dir(config: Option<&str>) -> Option<String> {
    config.map(|c| format!("{c}.d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_live_under_one_folder_per_service() {
        let p = Paths::new("heat");
        assert_eq!(p.session(), "/var/lib/git-osa/heat/session.json");
        assert_eq!(p.src(), "/var/lib/git-osa/heat/src");
        assert_eq!(p.step_scope(), "git-osa-step-heat.scope");
    }

    #[test]
    fn the_venv_copy_sits_beside_the_venv_hidden_from_its_glob() {
        assert_eq!(
            backup_path("/openstack/venvs/keystone-30.0.0"),
            "/openstack/venvs/.git-osa-prod-keystone-30.0.0"
        );
        assert!(!backup_path("/openstack/venvs/heat-33.0.1").starts_with("/openstack/venvs/heat-"));
        assert_eq!(
            aside_path("/openstack/venvs/keystone-30.0.0"),
            "/openstack/venvs/.git-osa-dev-keystone-30.0.0"
        );
    }
}
