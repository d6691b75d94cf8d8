//! A Gerrit change in the user's repository without touching the user's work: each
//! patchset is fetched into a ref of git-osa's own (`refs/osa/changes/CHANGE/PS`) and
//! checked out into a worktree git-osa owns, one a change, inside the repository's git
//! folder (`.git/osa/worktrees/CHANGE`). The user's working tree, index, HEAD, branches,
//! stash and remote-tracking refs are never written.
//!
//! Every git command is the git CLI, so the user's ssh keys, credential helpers and
//! `url.*.insteadOf` apply; its argv never goes through a shell. Hooks are off for
//! git-osa's own commands: a post-checkout hook of the user's (one that redeploys, say)
//! must not fire because git-osa moved its worktree.
//!
//! A patchset switch checks the other commit out in the same worktree: git rewrites only
//! the files that differ, so their mtimes change and no other's, and the sync (which
//! compares size and mtime) sends just those.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::gerrit::{self, Server};
use crate::project::Checkout;
use crate::session::Review;

/// The user's repository, as git-osa's review commands use it.
pub struct Repo {
    /// The user's checkout (where git commands naming a remote run).
    pub root: PathBuf,
    /// The git folder shared by all worktrees (`.git`).
    pub common_dir: PathBuf,
}

impl Repo {
    pub fn of(checkout: &Checkout) -> Repo {
        Repo {
            root: checkout.root.clone(),
            common_dir: checkout.repo.commondir().to_path_buf(),
        }
    }

    /// The folder of git-osa's worktrees.
    pub fn worktrees(&self) -> PathBuf {
        self.common_dir.join("osa").join("worktrees")
    }

    /// The worktree of one change.
    pub fn worktree(&self, change: u64) -> PathBuf {
        self.worktrees().join(change.to_string())
    }

    /// Where the checkout's Gerrit is: its Gerrit remote ([`gerrit_remote`]), else
    /// `.gitreview`.
    pub fn server(&self, checkout: &Checkout) -> Result<Server> {
        let name = gerrit_remote(&self.root);
        if let Ok(remote) = checkout.repo.find_remote(&name)
            && let Ok(url) = remote.url()
        {
            return Ok(Server::Remote {
                name,
                url: url.to_string(),
            });
        }
        let username = git_config(&self.root, "gitreview.username");
        std::fs::read_to_string(self.root.join(".gitreview"))
            .ok()
            .and_then(|t| gerrit::gitreview_url(&t, username.as_deref()))
            .map(Server::Url)
            .ok_or_else(|| {
                Error::user(format!(
                    "{} has no remote named {name} and no .gitreview naming a Gerrit host and project: git-osa does not know where the change is; nothing was changed",
                    self.root.display().to_string().trim_end_matches('/')
                ))
                .hint(format!("add the remote git-review uses: `git remote add {name} ssh://USER@review.opendev.org:29418/openstack/PROJECT`"))
            })
    }

    /// The patchsets of `change` on the server: one `git ls-remote`.
    pub fn patchsets(&self, server: &Server, change: u64) -> Result<BTreeMap<u32, String>> {
        let pattern = format!("{}/*", gerrit::change_dir(change));
        let out = git(&self.root, &["ls-remote", server.fetch_arg(), &pattern])?;
        if !out.status.success() {
            return Err(unreachable(server, &out));
        }
        Ok(gerrit::patchsets(
            &String::from_utf8_lossy(&out.stdout),
            change,
        ))
    }

    /// [`Repo::patchsets`] for a command that only reports: no prompt, and an answer (or
    /// why there is none) within `limit`.
    pub fn patchsets_unattended(
        &self,
        server: &Server,
        change: u64,
        limit: Duration,
    ) -> Result<BTreeMap<u32, String>> {
        let pattern = format!("{}/*", gerrit::change_dir(change));
        let Some(out) = git_unattended(
            &self.root,
            &["ls-remote", server.fetch_arg(), &pattern],
            limit,
        )?
        else {
            return Err(Error::user(format!(
                "the Gerrit server at {} did not answer within {} s",
                server.describe(),
                limit.as_secs()
            )));
        };
        if !out.status.success() {
            return Err(Error::user(format!(
                "the Gerrit server at {} could not be asked: {}",
                server.describe(),
                stderr_lines(&out)
            )));
        }
        Ok(gerrit::patchsets(
            &String::from_utf8_lossy(&out.stdout),
            change,
        ))
    }

    /// Fetches one patchset into git-osa's ref for it; returns the ref.
    pub fn fetch(&self, server: &Server, change: u64, ps: u32) -> Result<String> {
        let own = gerrit::own_ref(change, ps);
        let spec = format!("+{}:{own}", gerrit::patchset_ref(change, ps));
        let out = git(
            &self.root,
            &[
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--no-recurse-submodules",
                // No gc in the background: it would write after git-osa gave the
                // repository's files back to their owner (see `owner`).
                "--no-auto-maintenance",
                server.fetch_arg(),
                &spec,
            ],
        )?;
        self.give_back(&["objects", "refs/osa", "packed-refs"]);
        if !out.status.success() {
            return Err(unreachable(server, &out));
        }
        Ok(own)
    }

    /// Gives what git-osa (as root) wrote in these places of the git folder to the
    /// repository's owner.
    fn give_back(&self, places: &[&str]) {
        for place in places {
            crate::owner::give_back(&self.common_dir.join(place));
        }
    }

    /// What the user changed in git-osa's worktree of `change` (`git status --short`),
    /// empty when it is clean or absent.
    pub fn local_edits(&self, change: u64) -> Result<String> {
        let wt = self.worktree(change);
        if !wt.join(".git").exists() {
            return Ok(String::new());
        }
        let out = git_ok(&wt, &["status", "--short", "--untracked-files=all"])?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Checks `rev` out in the change's worktree, creating it the first time; returns its
    /// path.
    pub fn check_out(&self, change: u64, rev: &str) -> Result<PathBuf> {
        let wt = self.worktree(change);
        let done = if wt.join(".git").exists() {
            git_ok(&wt, &["checkout", "--quiet", "--detach", rev])
        } else {
            std::fs::create_dir_all(self.worktrees())?;
            let path = wt.to_string_lossy();
            git_ok(
                &self.root,
                &["worktree", "add", "--quiet", "--detach", &path, rev],
            )
        };
        // git's record of the worktree, and the worktree itself.
        self.give_back(&["worktrees", "osa"]);
        done?;
        Ok(wt)
    }

    /// Where git-osa notes the other projects' changes that `change`'s Depends-On footers
    /// named (`PROJECT CHANGE` lines), so `review --clean` and restore find them again
    /// without asking Gerrit (a Change-Id footer needs its REST API to be followed).
    fn dependencies_note(&self, change: u64) -> PathBuf {
        self.common_dir
            .join("osa")
            .join("depends-on")
            .join(change.to_string())
    }

    /// Notes the other projects' changes `change` depends on.
    pub fn note_dependencies(&self, change: u64, deps: &[(String, u64)]) -> Result<()> {
        let note = self.dependencies_note(change);
        if deps.is_empty() {
            let _ = std::fs::remove_file(&note);
            return Ok(());
        }
        if let Some(dir) = note.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text: String = deps.iter().map(|(p, c)| format!("{p} {c}\n")).collect();
        std::fs::write(&note, text)?;
        self.give_back(&["osa"]);
        Ok(())
    }

    /// What [`Repo::note_dependencies`] noted for `change` (nothing when it noted nothing).
    pub fn noted_dependencies(&self, change: u64) -> Vec<(String, u64)> {
        std::fs::read_to_string(self.dependencies_note(change))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let (p, c) = l.rsplit_once(' ')?;
                Some((p.to_string(), c.parse().ok()?))
            })
            .collect()
    }

    /// The commit a ref names, if it exists.
    pub fn rev(&self, name: &str) -> Result<Option<String>> {
        let out = git(&self.root, &["rev-parse", "--verify", "--quiet", name])?;
        Ok(out
            .status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()))
    }

    /// The commit checked out in git-osa's worktree of `change`, if it has one.
    pub fn worktree_head(&self, change: u64) -> Option<String> {
        let wt = self.worktree(change);
        if !wt.join(".git").exists() {
            return None;
        }
        let out = git_ok(&wt, &["rev-parse", "HEAD"]).ok()?;
        Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// The patchset `ps` of `change` is fetched and checked out in its worktree already:
    /// its commit.
    pub fn ready(&self, change: u64, ps: u32) -> Result<Option<String>> {
        let Some(rev) = self.rev(&gerrit::own_ref(change, ps))? else {
            return Ok(None);
        };
        Ok((self.worktree_head(change).as_deref() == Some(rev.as_str())).then_some(rev))
    }

    /// The ref exists in the user's repository.
    pub fn has_ref(&self, name: &str) -> Result<bool> {
        let out = git(&self.root, &["rev-parse", "--verify", "--quiet", name])?;
        Ok(out.status.success())
    }

    /// Deletes one of git-osa's refs.
    pub fn drop_ref(&self, name: &str) -> Result<()> {
        let done = git_ok(&self.root, &["update-ref", "-d", name]);
        // A packed ref is deleted by rewriting packed-refs.
        self.give_back(&["packed-refs"]);
        done?;
        Ok(())
    }

    /// The commit message of a fetched revision.
    pub fn message(&self, rev: &str) -> Result<String> {
        let out = git_ok(&self.root, &["log", "-1", "--format=%B", rev])?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The review record of a fetched patchset: subject and author from its commit.
    pub fn describe(&self, server: &Server, change: u64, ps: u32, rev: &str) -> Result<Review> {
        let out = git_ok(
            &self.root,
            &["log", "-1", "--format=%H%x00%s%x00%an <%ae>", rev],
        )?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.trim_end().splitn(3, '\0');
        let mut next = || parts.next().unwrap_or_default().to_string();
        Ok(Review {
            change,
            patchset: ps,
            commit: next(),
            subject: next(),
            owner: next(),
            server: server.fetch_arg().to_string(),
            depends_on: Vec::new(),
        })
    }

    /// The changes git-osa holds in this repository (a worktree or refs), with their
    /// patchset refs.
    pub fn own(&self) -> Result<BTreeMap<u64, Vec<String>>> {
        let mut own: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        let out = git_ok(
            &self.root,
            &["for-each-ref", "--format=%(refname)", gerrit::OWN_REFS],
        )?;
        for r in String::from_utf8_lossy(&out.stdout).lines() {
            let change = r
                .strip_prefix(gerrit::OWN_REFS)
                .and_then(|rest| rest.trim_start_matches('/').split('/').next())
                .and_then(|c| c.parse().ok());
            if let Some(c) = change {
                own.entry(c).or_default().push(r.to_string());
            }
        }
        if let Ok(dir) = std::fs::read_dir(self.worktrees()) {
            for e in dir.flatten() {
                if let Some(c) = e.file_name().to_str().and_then(|n| n.parse().ok()) {
                    own.entry(c).or_default();
                }
            }
        }
        Ok(own)
    }

    /// Removes git-osa's worktree and refs of `change`. A worktree with edits is kept:
    /// they are the user's.
    pub fn remove(&self, change: u64, refs: &[String]) -> Result<()> {
        let edits = self.local_edits(change)?;
        if !edits.is_empty() {
            return Err(edited(&self.worktree(change), change, &edits));
        }
        let wt = self.worktree(change);
        if wt.exists() {
            let path = wt.to_string_lossy();
            git_ok(&self.root, &["worktree", "remove", "--force", &path])?;
        }
        for r in refs {
            self.drop_ref(r)?;
        }
        let _ = std::fs::remove_file(self.dependencies_note(change));
        Ok(())
    }
}

/// The URL of `project` on the same Gerrit as `url` (a project's URL there): its path
/// replaced, so the user's scheme, user name, port and `insteadOf` rules stay.
pub fn sibling_url(url: &str, project: &str) -> Option<String> {
    let own = crate::project::url_project(url)?;
    let at = url
        .rfind(&own)
        .or_else(|| url.rfind(own.trim_end_matches(".git")))?;
    Some(format!("{}{project}", &url[..at]))
}

/// The name of the checkout's Gerrit remote, as git-review finds it: git config
/// `gitreview.remote`, else `.gitreview`'s `defaultremote`, else `gerrit`.
pub fn gerrit_remote(root: &Path) -> String {
    git_config(root, "gitreview.remote")
        .or_else(|| {
            let text = std::fs::read_to_string(root.join(".gitreview")).ok()?;
            crate::project::ini_value(&text, "gerrit", "defaultremote")
        })
        .unwrap_or_else(|| "gerrit".to_string())
}

/// A git config value as git reads it in `dir` (every scope, includes and all).
pub fn git_config(dir: &Path, key: &str) -> Option<String> {
    let out = git(dir, &["config", "--get", key]).ok()?;
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !v.is_empty()).then_some(v)
}

/// git-osa's cache of checkouts it cloned: `$XDG_CACHE_HOME/git-osa/checkouts`, else
/// `~/.cache/git-osa/checkouts`.
pub fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("git-osa").join("checkouts"))
}

/// Clones `url` into `dir` (git-osa's cache) with the user's configuration; the gerrit
/// remote is the clone's origin.
pub fn clone_into(url: &str, dir: &Path) -> Result<()> {
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let parent = dir.parent().unwrap_or(Path::new("/"));
    let path = dir.to_string_lossy();
    let out = git(
        parent,
        &["clone", "--quiet", "--origin", "gerrit", url, &path],
    )?;
    // The clone, and the folders of git-osa's cache above it, in the user's home.
    crate::owner::give_back(dir);
    if !out.status.success() {
        return Err(Error::user(format!(
            "cannot clone {url} into {path}: {}; nothing was changed in your checkouts",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// The error for a worktree of git-osa's that holds the user's edits.
pub fn edited(wt: &Path, change: u64, edits: &str) -> Error {
    let wt = wt.display();
    Error::user(format!(
        "git-osa's worktree of change {change} ({wt}) has local edits; git-osa does not overwrite them: nothing was changed\n{}",
        edits.trim_end()
    ))
    .hint(format!(
        "keep them as a patch: `git -C {wt} diff > change-{change}.patch`, or commit them there (`git -C {wt} commit -a`, then `git branch my-{change} <that commit>`)"
    ))
    .hint(format!("then drop them: `git -C {wt} checkout -- . && git -C {wt} clean -fd`"))
}

/// What a git command said on stderr, on one line.
fn stderr_lines(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn unreachable(server: &Server, out: &Output) -> Error {
    let why = stderr_lines(out);
    Error::user(format!(
        "cannot reach the Gerrit server at {}: {why}; nothing was changed",
        server.describe()
    ))
    .hint("check the URL, your network and your credentials (`git ls-remote` of it must work)")
}

/// Runs git in `dir` with the user's configuration, minus hooks, and without the variables
/// that would point it at another repository or index.
pub fn git(dir: &Path, args: &[&str]) -> Result<Output> {
    let out = git_command(dir, args)
        .output()
        .map_err(|e| Error::failed(format!("cannot run git: {e}")))?;
    Ok(out)
}

fn git_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(["-c", "core.hooksPath=/dev/null"])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .stdin(Stdio::null());
    cmd
}

/// How long a question to the Gerrit server may hold up a command that only reports
/// (`git osa status --online`).
pub const UNATTENDED_LIMIT: Duration = Duration::from_secs(5);

/// Runs git like [`git`], for a question to a server that nobody waits at the terminal
/// for: it cannot prompt (git's own prompts are off, and it runs in a session of its own,
/// without a terminal for ssh to ask a passphrase or a host key on; whatever ssh command
/// the user configured stays), and it is given up after `limit`, killed with what it
/// started. `None` when it was given up.
pub fn git_unattended(dir: &Path, args: &[&str], limit: Duration) -> Result<Option<Output>> {
    use std::io::Read;
    use std::os::unix::process::CommandExt as _;
    let mut cmd = git_command(dir, args);
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("SSH_ASKPASS_REQUIRE", "never")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setsid(2) is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::failed(format!("cannot run git: {e}")))?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = reader(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = reader(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(Output {
                status,
                stdout: stdout.join().unwrap_or_default(),
                stderr: stderr.join().unwrap_or_default(),
            }));
        }
        if Instant::now() >= deadline {
            // The session's process group: git and the ssh or helper it started. The
            // readers end when the last of them has gone.
            let group = -(child.id() as libc::pid_t);
            // SAFETY: kill(2) on the group of the child this function started.
            unsafe {
                libc::kill(group, libc::SIGKILL);
            }
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `git` that must succeed.
fn git_ok(dir: &Path, args: &[&str]) -> Result<Output> {
    let out = git(dir, args)?;
    if !out.status.success() {
        return Err(Error::failed(format!(
            "`git {}` in {} failed: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out)
}

/// The newest patchset of the change a review session runs, asked of the server it was
/// fetched from; or why it is not known.
pub fn latest_patchset(checkout: &Checkout, r: &Review) -> std::result::Result<u32, String> {
    let server = match checkout.repo.find_remote(&r.server) {
        Ok(remote) => Server::Remote {
            name: r.server.clone(),
            url: remote.url().unwrap_or_default().to_string(),
        },
        Err(_) => Server::Url(r.server.clone()),
    };
    match Repo::of(checkout).patchsets_unattended(&server, r.change, UNATTENDED_LIMIT) {
        Ok(ps) => ps
            .last_key_value()
            .map(|(n, _)| *n)
            .ok_or_else(|| format!("{} no longer has the change", r.server)),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dependencies_of_a_change_are_noted_and_forgotten_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo {
            root: dir.path().into(),
            common_dir: dir.path().join(".git"),
        };
        assert!(repo.noted_dependencies(777).is_empty());
        let deps = vec![
            ("openstack/oslo.middleware".to_string(), 4242),
            ("openstack/oslo.db".to_string(), 7),
        ];
        repo.note_dependencies(777, &deps).unwrap();
        assert_eq!(repo.noted_dependencies(777), deps);
        assert!(repo.noted_dependencies(778).is_empty());
        repo.note_dependencies(777, &[]).unwrap();
        assert!(repo.noted_dependencies(777).is_empty());
        assert!(!repo.dependencies_note(777).exists());
    }

    #[test]
    fn a_sibling_project_is_on_the_same_server_with_the_same_user_and_port() {
        for (url, want) in [
            (
                "ssh://me@review.opendev.org:29418/openstack/keystone",
                "ssh://me@review.opendev.org:29418/openstack/oslo.db",
            ),
            (
                "ssh://me@review.opendev.org:29418/openstack/keystone.git",
                "ssh://me@review.opendev.org:29418/openstack/oslo.db",
            ),
            (
                "https://review.opendev.org/openstack/keystone",
                "https://review.opendev.org/openstack/oslo.db",
            ),
            (
                "git://127.0.0.1:9418/openstack/keystone",
                "git://127.0.0.1:9418/openstack/oslo.db",
            ),
        ] {
            assert_eq!(
                sibling_url(url, "openstack/oslo.db").as_deref(),
                Some(want),
                "{url}"
            );
        }
        assert_eq!(sibling_url("https://host", "openstack/oslo.db"), None);
    }
}
