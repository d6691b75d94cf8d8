//! Gerrit, as git sees it: what the user names a change with (a number, `NUMBER,PATCHSET`,
//! a change URL), the refs Gerrit keeps each patchset under (`refs/changes/NN/CHANGE/PS`),
//! where the checkout's Gerrit server is (its Gerrit remote, else `.gitreview`), and
//! the `Depends-On:` footers of a commit message.
//!
//! This file is pure logic. The git commands that use it are in `repo.rs`, Gerrit's REST
//! API in `api.rs`, the review's fetch of a change and its Depends-On changes in
//! `review.rs`, the clean-up of what no container runs in `clean.rs`.

pub mod api;
pub mod clean;
mod depends;
pub mod repo;
pub mod review;

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::project::ini_value;

/// A change as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSpec {
    pub change: u64,
    pub patchset: Option<u32>,
    /// The project a change URL names (`openstack/keystone`).
    pub project: Option<String>,
}

impl ChangeSpec {
    /// `12345`, `12345,2`, `https://HOST/c/PROJECT/+/12345[/2]`, `https://HOST/12345`,
    /// `https://HOST/#/c/12345/2`.
    pub fn parse(text: &str) -> Result<ChangeSpec> {
        let text = text.trim();
        let bad = || {
            Error::user(format!("`{text}` does not name a Gerrit change")).hint(
                "name it by number (12345), number and patchset (12345,2) or its URL \
                 (https://review.opendev.org/c/openstack/keystone/+/12345)",
            )
        };
        if let Some((_, rest)) = text.split_once("://") {
            let path = rest.split_once('/').map(|(_, p)| p).unwrap_or("");
            let path = path.split(['?']).next().unwrap_or("");
            let path = path.trim_start_matches('#').trim_start_matches('/');
            let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            let (project, nums) = match parts.iter().position(|p| *p == "+") {
                // /c/PROJECT/+/CHANGE[/PS[/FILE...]]
                Some(plus) if parts.first() == Some(&"c") && plus > 1 => {
                    (Some(parts[1..plus].join("/")), &parts[plus + 1..])
                }
                Some(_) => return Err(bad()),
                // /c/CHANGE[/PS] (the old UI) or /CHANGE
                None if parts.first() == Some(&"c") => (None, &parts[1..]),
                None => (None, &parts[..]),
            };
            let change = nums.first().and_then(|n| number(n)).ok_or_else(bad)?;
            let patchset = match nums.get(1) {
                Some(p) => Some(patchset(p).ok_or_else(bad)?),
                None => None,
            };
            return Ok(ChangeSpec {
                change,
                patchset,
                project,
            });
        }
        let (c, p) = match text.split_once(',') {
            Some((c, p)) => (c, Some(p)),
            None => (text, None),
        };
        Ok(ChangeSpec {
            change: number(c).ok_or_else(bad)?,
            patchset: match p {
                Some(p) => Some(patchset(p).ok_or_else(bad)?),
                None => None,
            },
            project: None,
        })
    }
}

fn number(s: &str) -> Option<u64> {
    let n: u64 = s
        .parse()
        .ok()
        .filter(|_| s.bytes().all(|b| b.is_ascii_digit()))?;
    (n > 0).then_some(n)
}

fn patchset(s: &str) -> Option<u32> {
    number(s).and_then(|n| u32::try_from(n).ok())
}

/// Gerrit's ref folder of a change: `refs/changes/45/12345` (the last two digits, padded).
pub fn change_dir(change: u64) -> String {
    format!("refs/changes/{:02}/{change}", change % 100)
}

/// The ref of one patchset on the server.
pub fn patchset_ref(change: u64, ps: u32) -> String {
    format!("{}/{ps}", change_dir(change))
}

/// Where git-osa keeps a fetched patchset in the user's repository: outside refs/heads,
/// refs/remotes and refs/tags, so no branch, tag or remote-tracking ref of the user's
/// changes, and `git branch -a` does not list it.
pub const OWN_REFS: &str = "refs/osa/changes";

pub fn own_ref(change: u64, ps: u32) -> String {
    format!("{OWN_REFS}/{change}/{ps}")
}

/// The patchsets of `change` in `git ls-remote` output (`SHA<TAB>REF` lines), by number;
/// `.../meta` and anything not a patchset is left out.
pub fn patchsets(ls_remote: &str, change: u64) -> BTreeMap<u32, String> {
    let dir = format!("{}/", change_dir(change));
    ls_remote
        .lines()
        .filter_map(|l| {
            let (sha, r) = l.split_once('\t')?;
            let ps = patchset(r.trim().strip_prefix(&dir)?)?;
            Some((ps, sha.trim().to_string()))
        })
        .collect()
}

/// Where the checkout's Gerrit is, as git will be told to fetch from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    /// A remote of the checkout (git-review names it `gerrit`): its URL, credentials and
    /// `url.*.insteadOf` are the user's.
    Remote { name: String, url: String },
    /// A URL built from `.gitreview`.
    Url(String),
}

impl Server {
    /// What `git fetch` / `git ls-remote` are given.
    pub fn fetch_arg(&self) -> &str {
        match self {
            Server::Remote { name, .. } => name,
            Server::Url(u) => u,
        }
    }

    /// What the user is told was tried.
    pub fn describe(&self) -> String {
        match self {
            Server::Remote { name, url } => format!("remote {name} ({url})"),
            Server::Url(u) => format!("{u} (from .gitreview)"),
        }
    }
}

/// The URL `.gitreview` describes: `[gerrit]` host, port, project and scheme (ssh unless
/// said otherwise, as git-review does; its username from `gitreview.username`).
pub fn gitreview_url(text: &str, username: Option<&str>) -> Option<String> {
    let host = ini_value(text, "gerrit", "host")?;
    let project = ini_value(text, "gerrit", "project")?;
    let scheme = ini_value(text, "gerrit", "scheme").unwrap_or_else(|| "ssh".into());
    let port =
        ini_value(text, "gerrit", "port").or_else(|| (scheme == "ssh").then(|| "29418".into()));
    let user = match (scheme.as_str(), username) {
        ("ssh", Some(u)) => format!("{u}@"),
        _ => String::new(),
    };
    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
    let project = project.trim_matches('/');
    Some(format!("{scheme}://{user}{host}{port}/{project}"))
}

/// What a `Depends-On:` footer names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dependency {
    Url(String),
    ChangeId(String),
}

/// The `Depends-On:` footers of a commit message, in order, from its last paragraph (where
/// git and Zuul read footers).
pub fn depends_on(message: &str) -> Vec<Dependency> {
    let footer = message.trim_end().rsplit("\n\n").next().unwrap_or_default();
    footer
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            if !k.trim().eq_ignore_ascii_case("depends-on") {
                return None;
            }
            let v = v.trim();
            if v.contains("://") {
                Some(Dependency::Url(v.to_string()))
            } else if is_change_id(v) {
                Some(Dependency::ChangeId(v.to_string()))
            } else {
                None
            }
        })
        .collect()
}

/// `I` and 40 hex digits.
pub fn is_change_id(s: &str) -> bool {
    s.len() == 41 && s.starts_with('I') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(change: u64, patchset: Option<u32>, project: Option<&str>) -> ChangeSpec {
        ChangeSpec {
            change,
            patchset,
            project: project.map(String::from),
        }
    }

    #[test]
    fn a_change_is_named_by_number_number_and_patchset_or_url() {
        for (text, want) in [
            ("12345", spec(12345, None, None)),
            ("12345,2", spec(12345, Some(2), None)),
            (
                "https://review.opendev.org/c/openstack/keystone/+/12345",
                spec(12345, None, Some("openstack/keystone")),
            ),
            (
                "https://review.opendev.org/c/openstack/keystone/+/12345/3",
                spec(12345, Some(3), Some("openstack/keystone")),
            ),
            (
                "https://review.opendev.org/c/openstack/keystone/+/12345/3/keystone/api/x.py",
                spec(12345, Some(3), Some("openstack/keystone")),
            ),
            (
                "https://review.opendev.org/c/x/y/z/+/7/",
                spec(7, None, Some("x/y/z")),
            ),
            ("https://review.opendev.org/12345", spec(12345, None, None)),
            (
                "https://review.opendev.org/#/c/12345/2/",
                spec(12345, Some(2), None),
            ),
        ] {
            assert_eq!(ChangeSpec::parse(text).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn what_is_not_a_change_is_refused() {
        for text in [
            "",
            "abc",
            "0",
            "12345,",
            "12345,x",
            "12345,0",
            "-3",
            "+5",
            "12 345",
            "https://review.opendev.org/",
            "https://review.opendev.org/c/openstack/keystone/+/",
            "https://review.opendev.org/q/status:open",
            "Iaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            let e = ChangeSpec::parse(text).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{text}");
            assert!(
                e.to_string().contains("does not name a Gerrit change"),
                "{text}"
            );
        }
    }

    #[test]
    fn refs_use_the_last_two_digits_padded() {
        assert_eq!(patchset_ref(12345, 2), "refs/changes/45/12345/2");
        assert_eq!(patchset_ref(7, 1), "refs/changes/07/7/1");
        assert_eq!(patchset_ref(100, 10), "refs/changes/00/100/10");
        assert_eq!(own_ref(12345, 2), "refs/osa/changes/12345/2");
    }

    #[test]
    fn patchsets_come_from_ls_remote_without_meta_or_other_changes() {
        let out = "aaa\trefs/changes/45/12345/1\n\
                   bbb\trefs/changes/45/12345/10\n\
                   ccc\trefs/changes/45/12345/meta\n\
                   ddd\trefs/changes/45/112345/1\n\
                   eee\trefs/changes/45/12345/2\n";
        let ps = patchsets(out, 12345);
        assert_eq!(
            ps.into_iter().collect::<Vec<_>>(),
            [(1, "aaa".into()), (2, "eee".into()), (10, "bbb".into())]
        );
        assert!(patchsets("", 12345).is_empty());
    }

    #[test]
    fn gitreview_gives_the_servers_url() {
        let t = "[gerrit]\nhost=review.opendev.org\nport=29418\nproject=openstack/keystone.git\n";
        assert_eq!(
            gitreview_url(t, Some("me")).as_deref(),
            Some("ssh://me@review.opendev.org:29418/openstack/keystone.git")
        );
        assert_eq!(
            gitreview_url(t, None).as_deref(),
            Some("ssh://review.opendev.org:29418/openstack/keystone.git")
        );
        let https = "[gerrit]\nhost=review.example.org\nscheme=https\nproject=openstack/nova\n";
        assert_eq!(
            gitreview_url(https, Some("me")).as_deref(),
            Some("https://review.example.org/openstack/nova")
        );
        assert_eq!(gitreview_url("[gerrit]\nhost=x\n", None), None);
    }

    #[test]
    fn depends_on_footers_are_read_from_the_last_paragraph() {
        let msg = "Use the new thing\n\nDepends-On: https://example.org/c/x/+/1 is not a footer here\n\n\
                   Change-Id: I0123456789abcdef0123456789abcdef01234567\n\
                   Depends-On: https://review.example.org/c/openstack/oslo.db/+/4242\n\
                   depends-on: I89abcdef0123456789abcdef0123456789abcdef\n\
                   Depends-On: not a change\n";
        assert_eq!(
            depends_on(msg),
            [
                Dependency::Url("https://review.example.org/c/openstack/oslo.db/+/4242".into()),
                Dependency::ChangeId("I89abcdef0123456789abcdef0123456789abcdef".into()),
            ]
        );
        assert!(depends_on("Just a title\n").is_empty());
    }
}
