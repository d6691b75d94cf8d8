//! What changes in the checkout, told apart from what does not matter (`.git/`, what git
//! ignores), gathered into one sync per burst of saves.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::error::Result;

/// How long the checkout must stay quiet before a sync: an editor's save is a burst of
/// events (a temporary file, a rename, a chmod) within a few milliseconds.
pub const QUIET: Duration = Duration::from_millis(40);
/// A burst that never goes quiet (a build writing files) still syncs this often.
pub const AT_MOST: Duration = Duration::from_secs(2);

/// Which changed paths matter: those of the checkout that git does not ignore.
pub struct Filter {
    repo: git2::Repository,
    root: PathBuf,
    git_dir: PathBuf,
}

impl Filter {
    pub fn open(root: &Path) -> Result<Filter> {
        let repo = git2::Repository::open(root)
            .with_context(|| format!("opening the git repository at {}", root.display()))?;
        let root = canonical(root);
        let git_dir = canonical(repo.path());
        Ok(Filter {
            repo,
            root,
            git_dir,
        })
    }

    /// The path relative to the checkout, when a change to it may change what a sync sends.
    pub fn relevant(&self, path: &Path) -> Option<String> {
        if path.starts_with(&self.git_dir) {
            return None;
        }
        let rel = path.strip_prefix(&self.root).ok()?;
        if !outside_git_dir(rel) {
            return None;
        }
        // Ignored when git ignores it, or a folder it ignores holds it.
        if self.repo.is_path_ignored(rel).unwrap_or(false) {
            return None;
        }
        Some(rel.to_string_lossy().into_owned())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folders to follow under `dir` (itself included, when it is one to follow):
    /// those git does not ignore, `.git` excepted. inotify follows one folder at a time,
    /// and a recursive watch would also follow ignored trees such as `.tox`'s virtualenvs,
    /// tens of thousands of folders. Links to folders are not followed, as git does not.
    pub fn folders(&self, dir: &Path) -> Vec<PathBuf> {
        if dir != self.root && self.relevant(dir).is_none() {
            return Vec::new();
        }
        let mut out = vec![dir.to_path_buf()];
        let mut next = 0;
        while let Some(folder) = out.get(next) {
            let entries = std::fs::read_dir(folder);
            next += 1;
            for e in entries.into_iter().flatten().flatten() {
                let path = e.path();
                if e.file_type().is_ok_and(|t| t.is_dir()) && self.relevant(&path).is_some() {
                    out.push(path);
                }
            }
        }
        out
    }
}

/// The checkout's own files: not `.git` (a folder, or a worktree's `.git` file) nor
/// anything under it, and not the checkout's folder itself.
fn outside_git_dir(rel: &Path) -> bool {
    match rel.components().next() {
        None => false,
        Some(Component::Normal(first)) => first != ".git",
        Some(_) => false,
    }
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// Gathers changed paths until the checkout has been quiet for `quiet` (or changing
/// for `at_most`): one burst, one sync.
#[derive(Debug)]
pub struct Debounce {
    quiet: Duration,
    at_most: Duration,
    paths: BTreeSet<String>,
    /// The paths the burst made (their first event in it was their creation), with where
    /// they are: one gone again by the burst's end never was, for a sync (an editor's
    /// temporary file, `sed -i`'s).
    made: BTreeMap<String, PathBuf>,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Debounce {
    pub fn new(quiet: Duration, at_most: Duration) -> Debounce {
        Debounce {
            quiet,
            at_most,
            paths: BTreeSet::new(),
            made: BTreeMap::new(),
            first: None,
            last: None,
        }
    }

    /// A change to `path` at `at`; `made` is where it is when the change made it.
    pub fn add(&mut self, path: String, made: Option<PathBuf>, at: Instant) {
        if let Some(abs) = made
            && !self.paths.contains(&path)
        {
            self.made.insert(path.clone(), abs);
        }
        self.paths.insert(path);
        self.first.get_or_insert(at);
        self.last = Some(at);
    }

    /// How long to wait for more before the burst is over; None when nothing waits.
    pub fn wait(&self, now: Instant) -> Option<Duration> {
        let (first, last) = (self.first?, self.last?);
        let quiet_at = last + self.quiet;
        let cap_at = first + self.at_most;
        Some(quiet_at.min(cap_at).saturating_duration_since(now))
    }

    /// The burst's paths, once it is over, but those it made that `exists` says are gone
    /// again: empty when the burst only made and removed files.
    pub fn take(&mut self, now: Instant, exists: impl Fn(&Path) -> bool) -> Option<Vec<String>> {
        if self.wait(now)? > Duration::ZERO {
            return None;
        }
        self.first = None;
        self.last = None;
        let made = std::mem::take(&mut self.made);
        Some(
            std::mem::take(&mut self.paths)
                .into_iter()
                .filter(|p| made.get(p).is_none_or(|abs| exists(abs)))
                .collect(),
        )
    }
}

/// One line for what a burst changed: the first few paths, and how many more.
pub fn describe(paths: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut s = paths
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > SHOWN {
        s.push_str(&format!(" and {} more", paths.len() - SHOWN));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    #[test]
    fn a_burst_of_saves_is_one_sync_once_quiet() {
        let t0 = Instant::now();
        let mut d = Debounce::new(Duration::from_millis(80), Duration::from_secs(2));
        assert_eq!(d.wait(t0), None);
        assert_eq!(d.take(t0, |_| true), None);
        // An editor's save: temp file, rename, the same file again, 5 saves 20 ms apart.
        for i in 0..5 {
            d.add("keystone/a.py".into(), None, at(t0, i * 20));
        }
        d.add("keystone/b.py".into(), None, at(t0, 85));
        assert_eq!(d.take(at(t0, 120), |_| true), None, "not quiet yet");
        assert_eq!(d.wait(at(t0, 120)), Some(Duration::from_millis(45)));
        assert_eq!(
            d.take(at(t0, 165), |_| true),
            Some(vec![
                "keystone/a.py".to_string(),
                "keystone/b.py".to_string()
            ])
        );
        assert_eq!(d.take(at(t0, 500), |_| true), None, "a burst syncs once");
    }

    #[test]
    fn a_burst_that_never_goes_quiet_still_syncs() {
        let t0 = Instant::now();
        let mut d = Debounce::new(Duration::from_millis(80), Duration::from_millis(300));
        for i in 0..10 {
            d.add(format!("f{i}"), None, at(t0, i * 50));
        }
        assert_eq!(d.wait(at(t0, 450)), Some(Duration::ZERO));
        assert_eq!(d.take(at(t0, 450), |_| true).map(|p| p.len()), Some(10));
    }

    #[test]
    fn a_file_the_burst_made_and_removed_again_is_no_change() {
        let t0 = Instant::now();
        let mut d = Debounce::new(Duration::from_millis(40), Duration::from_secs(2));
        let exists = |p: &Path| p == Path::new("/c/keystone/new.py");
        // `sed -i`: its temporary file made, then renamed over the file.
        d.add(
            "keystone/sedX1".into(),
            Some("/c/keystone/sedX1".into()),
            t0,
        );
        d.add("keystone/sedX1".into(), None, at(t0, 1));
        d.add("keystone/a.py".into(), None, at(t0, 1));
        // A file made that stays; a file that was there, removed, made and removed again.
        d.add(
            "keystone/new.py".into(),
            Some("/c/keystone/new.py".into()),
            at(t0, 2),
        );
        d.add("keystone/old.py".into(), None, at(t0, 3));
        d.add(
            "keystone/old.py".into(),
            Some("/c/keystone/old.py".into()),
            at(t0, 4),
        );
        d.add("keystone/old.py".into(), None, at(t0, 5));
        assert_eq!(
            d.take(at(t0, 50), exists),
            Some(vec![
                "keystone/a.py".to_string(),
                "keystone/new.py".to_string(),
                "keystone/old.py".to_string()
            ])
        );
        // A burst that only made a file and removed it: nothing to sync.
        d.add("4913".into(), Some("/c/4913".into()), at(t0, 100));
        d.add("4913".into(), None, at(t0, 101));
        assert_eq!(d.take(at(t0, 200), exists), Some(vec![]));
        // What the last burst made is forgotten with it.
        d.add("keystone/sedX1".into(), None, at(t0, 300));
        assert_eq!(
            d.take(at(t0, 400), exists),
            Some(vec!["keystone/sedX1".to_string()])
        );
    }

    #[test]
    fn git_s_folder_and_ignored_files_do_not_matter() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        git2::Repository::init(&root).unwrap();
        std::fs::write(root.join(".gitignore"), "*.pyc\nbuild/\n").unwrap();
        let f = Filter::open(&root).unwrap();
        assert_eq!(
            f.relevant(&root.join("keystone/api.py")).as_deref(),
            Some("keystone/api.py")
        );
        assert_eq!(
            f.relevant(&root.join(".gitignore")).as_deref(),
            Some(".gitignore")
        );
        for ignored in [
            ".git/index",
            ".git/git-osa/watch.log",
            ".git",
            "keystone/api.pyc",
            "build/lib/x.py",
            "",
        ] {
            assert_eq!(f.relevant(&root.join(ignored)), None, "{ignored}");
        }
        assert_eq!(f.relevant(Path::new("/elsewhere/x.py")), None);
    }

    #[test]
    fn only_the_folders_git_does_not_ignore_are_followed() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        git2::Repository::init(&root).unwrap();
        std::fs::write(root.join(".gitignore"), ".tox\nbuild/\n*.egg-info\n").unwrap();
        for d in [
            "keystone/api",
            "keystone/tests/unit",
            ".tox/py3/lib/python3.11/site-packages/oslo_db",
            "build/lib",
            "keystone.egg-info",
            "doc/source",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::os::unix::fs::symlink(root.join("keystone"), root.join("link")).unwrap();
        let f = Filter::open(&root).unwrap();
        let rel = |dirs: Vec<PathBuf>| -> Vec<String> {
            let mut v: Vec<String> = dirs
                .iter()
                .map(|d| d.strip_prefix(&root).unwrap().display().to_string())
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            rel(f.folders(&root)),
            [
                "",
                "doc",
                "doc/source",
                "keystone",
                "keystone/api",
                "keystone/tests",
                "keystone/tests/unit"
            ]
        );
        // A folder made while watching: it and what is already in it.
        assert_eq!(
            rel(f.folders(&root.join("keystone/tests"))),
            ["keystone/tests", "keystone/tests/unit"]
        );
        assert!(f.folders(&root.join(".tox/py3")).is_empty());
        assert!(f.folders(&root.join(".git")).is_empty());
    }

    #[test]
    fn describe_names_a_few_paths_and_counts_the_rest() {
        let p: Vec<String> = (1..=5).map(|i| format!("f{i}")).collect();
        assert_eq!(describe(&p[..2]), "f1, f2");
        assert_eq!(describe(&p), "f1, f2, f3 and 2 more");
    }
}
