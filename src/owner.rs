//! What git-osa writes in a user's repository and home belongs to that user, even when
//! git-osa runs as root (`sudo git osa ...`, as OSA wants it). Otherwise review's refs,
//! objects and worktrees, the hooks and their state, the watcher's files and the clones
//! in `~/.cache/git-osa` would be root's, and the user's own git, hooks and watcher would
//! then fail on them (`cannot lock ref`, `Permission denied`).
//!
//! After writing, git-osa gives what root owns there to the owner of the folder it is in:
//! the user who typed sudo, for a checkout and a home of theirs. Nothing changes hands in
//! a folder of root's own (a checkout in /root, a core.hooksPath in /etc), nor when
//! git-osa does not run as root.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Gives `path` (everything under it, and the folders above it that root owns, up to the
/// first that it does not) to the owner of that first folder, when git-osa runs as root
/// and that owner is not root. Only entries root owns change hands; links are not
/// followed. Best effort: what cannot be given is left as it is.
pub fn give_back(path: &Path) {
    if !is_root() {
        return;
    }
    // The first folder above `path` that root does not own says whose it all is.
    let mut above = Vec::new();
    let mut dir = path.parent();
    let owner = loop {
        let Some(d) = dir else { return };
        let Ok(meta) = std::fs::symlink_metadata(d) else {
            return;
        };
        if meta.uid() != 0 {
            break (meta.uid(), meta.gid());
        }
        above.push(d.to_path_buf());
        dir = d.parent();
    };
    // Those of root's folders above that git-osa may have made (`~/.cache` for the
    // clones, `.git/hooks`), and the tree itself.
    for d in above {
        give(&d, owner);
    }
    give_tree(path, owner);
}

fn give_tree(path: &Path, owner: (u32, u32)) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.uid() == 0 {
        give(path, owner);
    }
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
            give_tree(&entry.path(), owner);
        }
    }
}

fn give(path: &Path, (uid, gid): (u32, u32)) {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.uid() == 0)
        && let Err(e) = std::os::unix::fs::lchown(path, Some(uid), Some(gid))
    {
        log::debug!("cannot give {} to uid {uid}: {e}", path.display());
    }
}

/// git-osa runs as root: the owner of `/proc/self` is the effective user.
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Root's files in a folder of another user's go to that user, with the folders
    /// above them root made; a folder of root's own keeps its files root's.
    #[test]
    fn roots_files_in_a_users_folder_go_to_that_user() {
        if !is_root() {
            return;
        }
        let home = tempfile::tempdir().unwrap();
        let user = home.path().join("user");
        std::fs::create_dir(&user).unwrap();
        std::os::unix::fs::lchown(&user, Some(65534), Some(65534)).unwrap();
        let made = user.join(".cache/git-osa/checkouts/x");
        std::fs::create_dir_all(&made).unwrap();
        std::fs::write(made.join("f"), "").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", made.join("link")).unwrap();
        give_back(&made);
        for p in [
            user.join(".cache"),
            user.join(".cache/git-osa/checkouts"),
            made.clone(),
            made.join("f"),
            made.join("link"),
        ] {
            let m = std::fs::symlink_metadata(&p).unwrap();
            assert_eq!((m.uid(), m.gid()), (65534, 65534), "{}", p.display());
        }
        assert_eq!(std::fs::metadata("/etc/passwd").unwrap().uid(), 0);
        // Root's own folder: nothing changes hands.
        let own = home.path().join("root-only/x");
        std::fs::create_dir_all(&own).unwrap();
        give_back(&own);
        assert_eq!(std::fs::symlink_metadata(&own).unwrap().uid(), 0);
    }
}
