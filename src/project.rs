//! The checkout: which project it is, and what state its tree is in.
//!
//! A checkout names its project in up to three places: `.gitreview` (`project=` under
//! `[gerrit]`, what Gerrit and git-review use), the Python package name in `setup.cfg`
//! or `pyproject.toml`, and the path of a remote URL. All three are read; the catalog
//! decides which one matches.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What a checkout says about which project it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectId {
    pub gerrit_project: Option<String>,
    pub package: Option<String>,
    pub remote_project: Option<String>,
}

impl ProjectId {
    /// The best name to show the user.
    pub fn display(&self) -> String {
        self.gerrit_project
            .clone()
            .or_else(|| self.remote_project.clone())
            .or_else(|| self.package.clone())
            .unwrap_or_else(|| "(no project name found)".into())
    }
}

pub struct Checkout {
    pub root: PathBuf,
    pub repo: git2::Repository,
}

impl Checkout {
    /// The checkout git would use in `dir`: where `GIT_DIR` or `GIT_WORK_TREE` are set
    /// (`git --git-dir`, `--work-tree` set them for the subcommands they run), the one
    /// git resolves from them, asked of git itself; else the one containing `dir`.
    pub fn current(dir: &Path) -> Result<Checkout> {
        if std::env::var_os("GIT_DIR").is_none() && std::env::var_os("GIT_WORK_TREE").is_none() {
            return Checkout::discover(dir);
        }
        let out = std::process::Command::new("git")
            .args(["rev-parse", "--absolute-git-dir", "--show-toplevel"])
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| Error::failed(format!("cannot run git: {e}")))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let (Some(git_dir), Some(top), true) = (lines.next(), lines.next(), out.status.success())
        else {
            let said = String::from_utf8_lossy(&out.stderr);
            return Err(Error::user(format!(
                "git finds no checkout for GIT_DIR={} GIT_WORK_TREE={}: {}",
                std::env::var("GIT_DIR").unwrap_or_default(),
                std::env::var("GIT_WORK_TREE").unwrap_or_default(),
                said.trim()
            ))
            .hint("point them at a checkout (with a work tree) of an OpenStack project, or unset them"));
        };
        let repo = git2::Repository::open(git_dir).map_err(|e| {
            Error::user(format!(
                "git-osa cannot open the repository at {git_dir}: {}",
                e.message()
            ))
        })?;
        let root = PathBuf::from(top);
        repo.set_workdir(&root, false).map_err(|e| {
            Error::failed(format!(
                "using {} as the work tree: {}",
                root.display(),
                e.message()
            ))
        })?;
        Ok(Checkout { root, repo })
    }

    /// The checkout containing `dir`.
    pub fn discover(dir: &Path) -> Result<Checkout> {
        let repo = git2::Repository::discover(dir).map_err(|e| {
            if e.code() == git2::ErrorCode::NotFound {
                return Error::user(format!("{} is not in a git checkout", dir.display())).hint(
                    "run git osa from a checkout of an OpenStack project, \
                     e.g. `git clone https://opendev.org/openstack/keystone && cd keystone`",
                );
            }
            // A repository of another user: git's own advice (git refuses it too).
            if e.code() == git2::ErrorCode::Owner {
                let path = owned_path(e.message()).unwrap_or_else(|| dir.display().to_string());
                return Error::user(format!(
                    "git-osa cannot open the repository at {}: {}",
                    dir.display(),
                    e.message()
                ))
                .hint(format!(
                    "git refuses it too (\"dubious ownership\"); if you trust it, as git says: `git config --global --add safe.directory {path}`"
                ))
                .hint("or run git osa through sudo from the user who owns it: git and git-osa accept that user's checkout then (SUDO_UID)");
            }
            // A repository libgit2 cannot read (reftable refs, sha256 objects, an
            // extension it does not know): its own reason, not "not a checkout".
            Error::user(format!(
                "git-osa cannot open the repository at {}: {}",
                dir.display(),
                e.message()
            ))
            .hint(
                "git-osa reads repositories with libgit2, which does not support reftable \
                 refs or sha256 objects yet; a checkout with git's defaults (files refs, \
                 sha1 objects) works: for reftable, `git clone --ref-format=files` of it",
            )
        })?;
        let root = repo
            .workdir()
            .ok_or_else(|| {
                Error::user(format!(
                    "{} is a bare repository: there is no checkout to run",
                    repo.path().display()
                ))
            })?
            .to_path_buf();
        Ok(Checkout { root, repo })
    }

    pub fn identify(&self) -> ProjectId {
        let read = |name: &str| std::fs::read_to_string(self.root.join(name)).ok();
        let gerrit_project = read(".gitreview")
            .and_then(|t| ini_value(&t, "gerrit", "project"))
            .map(|p| strip_git(&p));
        let package = read("setup.cfg")
            .and_then(|t| ini_value(&t, "metadata", "name"))
            .or_else(|| read("pyproject.toml").and_then(|t| pyproject_name(&t)));
        let remote_project = self.remote_urls().iter().find_map(|u| url_project(u));
        ProjectId {
            gerrit_project,
            package,
            remote_project,
        }
    }

    fn remote_urls(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .repo
            .remotes()
            .map(|r| {
                r.iter()
                    .filter_map(|n| n.ok().flatten().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        // origin first, gerrit next: they are the usual names for the project's remote.
        names.sort_by_key(|n| match n.as_str() {
            "origin" => 0,
            "gerrit" => 1,
            _ => 2,
        });
        names
            .iter()
            .filter_map(|n| self.repo.find_remote(n).ok()?.url().ok().map(String::from))
            .collect()
    }
}

fn strip_git(p: &str) -> String {
    let p = p.trim().trim_matches('/');
    p.strip_suffix(".git").unwrap_or(p).to_string()
}

/// `value` of `key` in `[section]` of an INI text (git-review and setuptools style).
pub fn ini_value(text: &str, section: &str, key: &str) -> Option<String> {
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            in_section = rest.trim_end_matches(']').trim() == section;
            continue;
        }
        if !in_section {
            continue;
        }
        if let Some((k, v)) = line.split_once(['=', ':'])
            && k.trim() == key
        {
            return Some(v.trim().to_string()).filter(|v| !v.is_empty());
        }
    }
    None
}

fn pyproject_name(text: &str) -> Option<String> {
    let doc: toml::Table = toml::from_str(text).ok()?;
    doc.get("project")?.get("name")?.as_str().map(String::from)
}

/// The folder libgit2 names when it refuses a repository of another user
/// (`repository path '/src/keystone' is not owned by current user`): the one git's
/// safe.directory wants.
fn owned_path(message: &str) -> Option<String> {
    let rest = message.strip_prefix("repository path '")?;
    let (path, _) = rest.rsplit_once("' is not owned")?;
    Some(path.trim_end_matches('/').to_string())
}

/// `openstack/keystone` from `https://opendev.org/openstack/keystone.git`,
/// `ssh://user@review.opendev.org:29418/openstack/keystone` or `git@host:openstack/keystone`.
pub fn url_project(url: &str) -> Option<String> {
    let path = if let Some((_, rest)) = url.split_once("://") {
        rest.split_once('/').map(|(_, p)| p)?
    } else if let Some((host, p)) = url.split_once(':') {
        if host.contains('/') { url } else { p }
    } else {
        url
    };
    let parts: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match parts.as_slice() {
        [.., org, name] => Some(format!("{org}/{}", strip_git(name))),
        _ => None,
    }
}

/// Whether `a` and `b` are the same folder (each as it resolves, when it does).
pub fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_gitreview_project() {
        let t = "[gerrit]\nhost=review.opendev.org\nport=29418\nproject=openstack/keystone.git\n";
        assert_eq!(
            ini_value(t, "gerrit", "project").as_deref(),
            Some("openstack/keystone.git")
        );
        assert_eq!(strip_git("openstack/keystone.git"), "openstack/keystone");
    }

    #[test]
    fn reads_setup_cfg_name_only_in_metadata() {
        let t = "[files]\nname = wrong\n[metadata]\nname = openstack-heat\nsummary = x\n";
        assert_eq!(
            ini_value(t, "metadata", "name").as_deref(),
            Some("openstack-heat")
        );
    }

    #[test]
    fn reads_pyproject_name() {
        let t = "[build-system]\nrequires=['pbr']\n[project]\nname = \"keystone\"\n";
        assert_eq!(pyproject_name(t).as_deref(), Some("keystone"));
        assert_eq!(pyproject_name("[project]\n"), None);
    }

    #[test]
    fn project_from_remote_urls() {
        for (url, want) in [
            (
                "https://opendev.org/openstack/keystone.git",
                "openstack/keystone",
            ),
            (
                "https://opendev.org/openstack/keystone",
                "openstack/keystone",
            ),
            (
                "ssh://me@review.opendev.org:29418/openstack/nova",
                "openstack/nova",
            ),
            ("git@github.com:me/heat.git", "me/heat"),
            (
                "/var/cache/lab/keystone-origin/openstack/keystone.git",
                "openstack/keystone",
            ),
        ] {
            assert_eq!(url_project(url).as_deref(), Some(want), "{url}");
        }
        assert_eq!(url_project("https://host"), None);
    }
}
