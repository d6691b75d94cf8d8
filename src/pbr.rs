//! The version pbr would give the checkout, for `PBR_VERSION`.
//!
//! pbr derives a package's version from git tags, and the container has neither git nor
//! the checkout's `.git`; without `PBR_VERSION` the install fails. pbr's rule (see its
//! `packaging._get_version_from_git`): on a tagged commit, the tag; otherwise the nearest
//! tag's version bumped by the `Sem-Ver:` footers of the commits since (api-break: major,
//! feature: minor, else patch) with `.dev<commits since>` appended.

use git2::Repository;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Version {
    release: [u64; 3],
    /// `a`, `b` or `rc` with its number, as in pbr's `30.0.0.0rc1`.
    pre: Option<(String, u64)>,
}

fn parse(tag: &str) -> Option<Version> {
    let mut nums = Vec::new();
    let mut pre = None;
    for (i, part) in tag.split('.').enumerate() {
        if let Ok(n) = part.parse::<u64>() {
            if pre.is_some() || i > 3 {
                return None;
            }
            nums.push(n);
            continue;
        }
        let split = part.find(|c: char| !c.is_ascii_digit())?;
        let (lead, rest) = part.split_at(split);
        let kind = ["rc", "a", "b"].into_iter().find(|k| rest.starts_with(k))?;
        let n: u64 = rest[kind.len()..].parse().ok()?;
        if !lead.is_empty() {
            nums.push(lead.parse().ok()?);
        }
        pre = Some((kind.to_string(), n));
    }
    if nums.is_empty() || nums.len() > 4 {
        return None;
    }
    // pbr writes pre-releases with a fourth `0`: 30.0.0.0rc1.
    if nums.len() == 4 {
        if nums[3] != 0 {
            return None;
        }
        nums.pop();
    }
    nums.resize(3, 0);
    Some(Version {
        release: [nums[0], nums[1], nums[2]],
        pre,
    })
}

fn render(v: &Version) -> String {
    let [a, b, c] = v.release;
    match &v.pre {
        None => format!("{a}.{b}.{c}"),
        Some((k, n)) => format!("{a}.{b}.{c}.0{k}{n}"),
    }
}

/// The `Sem-Ver:` symbols of a commit message, as pbr reads them: the header in any case,
/// comma-separated values, lower-cased (`_get_increment_kwargs`).
fn sem_ver(message: &str) -> Vec<String> {
    message
        .lines()
        .map(|l| l.trim().to_lowercase())
        .filter_map(|l| l.strip_prefix("sem-ver:").map(str::to_string))
        .flat_map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The version string, or `None` for a repository without commits.
pub fn version(repo: &Repository) -> Option<String> {
    let head = repo.head().ok()?.peel_to_commit().ok()?.id();
    let mut tagged: std::collections::HashMap<git2::Oid, Version> = Default::default();
    let names = repo.tag_names(None).ok()?;
    for name in names.iter().filter_map(|n| n.ok().flatten()) {
        let Some(v) = parse(name.trim_start_matches('v')) else {
            continue;
        };
        let Ok(obj) = repo.revparse_single(&format!("refs/tags/{name}")) else {
            continue;
        };
        let Ok(commit) = obj.peel_to_commit() else {
            continue;
        };
        let e = tagged.entry(commit.id()).or_insert_with(|| v.clone());
        if v > *e {
            *e = v;
        }
    }
    // Nearest tagged ancestor, newest first.
    let mut walk = repo.revwalk().ok()?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)
        .ok()?;
    walk.push(head).ok()?;
    let base = walk
        .filter_map(|o| o.ok())
        .find_map(|oid| tagged.get(&oid).map(|v| (oid, v.clone())));
    let mut since = repo.revwalk().ok()?;
    since.push(head).ok()?;
    if let Some((oid, _)) = &base {
        since.hide(*oid).ok()?;
    }
    let mut distance = 0u64;
    let (mut major, mut minor) = (false, false);
    for oid in since.filter_map(|o| o.ok()) {
        distance += 1;
        if let Ok(c) = repo.find_commit(oid) {
            for symbol in sem_ver(c.message().unwrap_or_default()) {
                match symbol.as_str() {
                    "api-break" => major = true,
                    "feature" | "deprecation" => minor = true,
                    _ => {}
                }
            }
        }
    }
    // Without a tag pbr counts from the first commit, not before it (its walk's last index
    // is the distance): one commit is 0.0.0, two are 0.0.1.dev1.
    if base.is_none() {
        distance = distance.saturating_sub(1);
    }
    let base = base.map(|(_, v)| v).unwrap_or(Version {
        release: [0, 0, 0],
        pre: None,
    });
    if distance == 0 {
        return Some(render(&base));
    }
    let next = match base.pre {
        Some((k, n)) => Version {
            release: base.release,
            pre: Some((k, n + 1)),
        },
        None => {
            let [a, b, c] = base.release;
            let release = if major {
                [a + 1, 0, 0]
            } else if minor {
                [a, b + 1, 0]
            } else {
                [a, b, c + 1]
            };
            Version { release, pre: None }
        }
    };
    Some(format!("{}.dev{distance}", render(&next)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(repo: &Repository, msg: &str) -> git2::Oid {
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        let tree_id = repo.index().unwrap().write_tree().unwrap();
        let tree = repo.find_tree(tree_id).unwrap();
        let parents: Vec<git2::Commit> = repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .into_iter()
            .collect();
        let parents: Vec<&git2::Commit> = parents.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, msg, &tree, &parents)
            .unwrap()
    }

    fn tag(repo: &Repository, name: &str, oid: git2::Oid) {
        let obj = repo.find_object(oid, None).unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        repo.tag(name, &obj, &sig, name, false).unwrap();
    }

    #[test]
    fn tagged_head_is_the_tag() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        commit(&repo, "one");
        let c = commit(&repo, "two");
        tag(&repo, "30.0.0", c);
        assert_eq!(version(&repo).as_deref(), Some("30.0.0"));
    }

    #[test]
    fn commits_after_a_tag_bump_patch_minor_or_major() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let c = commit(&repo, "release");
        tag(&repo, "30.0.0", c);
        commit(&repo, "fix a bug");
        assert_eq!(version(&repo).as_deref(), Some("30.0.1.dev1"));
        commit(&repo, "Add a thing\n\nSem-Ver: feature\nChange-Id: I0");
        assert_eq!(version(&repo).as_deref(), Some("30.1.0.dev2"));
        commit(&repo, "Drop v2\n\nSem-Ver: api-break");
        assert_eq!(version(&repo).as_deref(), Some("31.0.0.dev3"));
    }

    #[test]
    fn pre_release_tags_count_up_and_untagged_repos_start_at_zero() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        commit(&repo, "a");
        commit(&repo, "b");
        // pbr's own answer (tests/pbr.rs asks it): it counts from the first commit.
        assert_eq!(version(&repo).as_deref(), Some("0.0.1.dev1"));
        let c = commit(&repo, "rc");
        tag(&repo, "31.0.0.0rc1", c);
        tag(&repo, "not-a-version", c);
        assert_eq!(version(&repo).as_deref(), Some("31.0.0.0rc1"));
        commit(&repo, "after rc");
        assert_eq!(version(&repo).as_deref(), Some("31.0.0.0rc2.dev1"));
    }

    /// Regression: only `Sem-Ver:` in that case, with one value, was read.
    #[test]
    fn sem_ver_footers_are_read_as_pbr_reads_them() {
        assert_eq!(
            sem_ver("Do it\n\nsem-ver: Feature, api-break\nSEM-VER:deprecation\n"),
            ["feature", "api-break", "deprecation"]
        );
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let first = commit(&repo, "Init");
        tag(&repo, "1.2.3", first);
        commit(&repo, "Deprecate a thing\n\nsem-ver: deprecation");
        assert_eq!(version(&repo).as_deref(), Some("1.3.0.dev1"));
    }

    #[test]
    fn parses_pbr_tag_forms() {
        assert!(parse("2024.1").is_some());
        assert!(parse("30.0.0.0b2").is_some());
        assert!(parse("stable/2024.1").is_none());
        assert!(parse("1.2.3.4").is_none());
        assert!(parse("30.0.0.0rc1") > parse("30.0.0.0b2"));
    }
}
