//! Gerrit's REST API, for what git alone cannot answer: which change a Change-Id names
//! (`GET <base>/changes/?q=change:<Change-Id>`), and who owns it.
//!
//! Fetching stays with the git CLI (`review.rs`); this is one anonymous query. The base URL
//! comes from the checkout: `git config osa.gerritUrl`, else `https://HOST/` of
//! `.gitreview`'s host, else of the Gerrit remote's host. HTTP goes through `ureq`, which
//! honours `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` (upper or lower case, the first set)
//! and skips the proxy for the hosts `NO_PROXY` names; HTTPS trusts the system's CAs (on
//! Linux the bundle OpenSSL reads, `SSL_CERT_FILE` and `SSL_CERT_DIR` honoured).

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::project::{Checkout, ini_value};
use crate::settings::{Setting, keys};

/// One change of a query's answer, as git-osa uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeInfo {
    pub number: u64,
    pub project: String,
    pub branch: String,
    /// `NEW`, `MERGED` or `ABANDONED`.
    pub status: String,
    pub subject: String,
    /// `Name <email>`, or what of it the server shows.
    pub owner: String,
}

impl ChangeInfo {
    pub fn is_open(&self) -> bool {
        self.status == "NEW"
    }

    /// The change's URL on the server (`BASE/c/PROJECT/+/NUMBER`), the form a Depends-On
    /// footer by URL has.
    pub fn url(&self, base: &str) -> String {
        format!("{base}c/{}/+/{}", self.project, self.number)
    }

    /// How a candidate is listed when the choice is the user's.
    pub fn line(&self) -> String {
        format!(
            "{} ({}, branch {}, {}): {}",
            self.number,
            self.project,
            self.branch,
            self.status.to_lowercase(),
            self.subject
        )
    }
}

#[derive(Deserialize)]
struct RawChange {
    #[serde(rename = "_number")]
    number: u64,
    project: String,
    branch: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    owner: Option<RawAccount>,
}

#[derive(Deserialize)]
struct RawAccount {
    name: Option<String>,
    email: Option<String>,
    username: Option<String>,
    #[serde(rename = "_account_id")]
    id: Option<u64>,
}

impl RawAccount {
    fn show(&self) -> String {
        match (&self.name, &self.email, &self.username, self.id) {
            (Some(n), Some(e), _, _) => format!("{n} <{e}>"),
            (Some(n), None, _, _) => n.clone(),
            (None, Some(e), _, _) => format!("<{e}>"),
            (None, None, Some(u), _) => u.clone(),
            (None, None, None, Some(id)) => format!("account {id}"),
            _ => String::new(),
        }
    }
}

/// The changes of a `/changes/` answer: JSON after Gerrit's `)]}'` line (which keeps a
/// browser from running it). None when the body is not that.
pub fn parse_changes(body: &str) -> Option<Vec<ChangeInfo>> {
    let body = body.trim_start_matches('\u{feff}');
    let json = body.strip_prefix(")]}'").unwrap_or(body);
    let raw: Vec<RawChange> = serde_json::from_str(json).ok()?;
    Some(
        raw.into_iter()
            .map(|r| ChangeInfo {
                number: r.number,
                project: r.project,
                branch: r.branch,
                status: r.status,
                subject: r.subject,
                owner: r.owner.map(|o| o.show()).unwrap_or_default(),
            })
            .collect(),
    )
}

/// `https://HOST/` for a git URL's host: what an ssh, git or scp-like remote maps to; an
/// http(s) remote keeps its scheme and port.
pub fn base_of_url(url: &str) -> Option<String> {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        // scp-like: [user@]host:path
        None => (None, url),
    };
    let authority = match scheme {
        Some(_) => rest.split('/').next()?,
        None => rest.split_once(':').map(|(h, _)| h)?,
    };
    let host_port = authority.rsplit('@').next()?;
    if host_port.is_empty() || host_port.contains('/') {
        return None;
    }
    match scheme {
        Some(s @ ("http" | "https")) => Some(format!("{s}://{host_port}/")),
        _ => {
            let host = match host_port.strip_prefix('[') {
                Some(v6) => format!("[{}]", v6.split(']').next()?),
                None => host_port.split(':').next()?.to_string(),
            };
            (!host.is_empty()).then(|| format!("https://{host}/"))
        }
    }
}

/// An `osa.gerritUrl` value as a base URL ending in `/`; None unless it is http(s).
pub fn normalize_base(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") || rest.trim_matches('/').is_empty() {
        return None;
    }
    Some(format!("{}/", url.trim_end_matches('/')))
}

/// `osa.gerritUrl`, when the user set it (and it is a URL).
pub fn configured_base(gerrit_url: &Setting<Option<String>>) -> Option<String> {
    gerrit_url.value.as_deref().and_then(normalize_base)
}

/// Where the checkout's Gerrit answers REST: `osa.gerritUrl`, `.gitreview`'s host, or the
/// host of its Gerrit remote (`gerrit`, or as `gitreview.remote` or `.gitreview` name it).
pub fn base_url(checkout: &Checkout, gerrit_url: &Setting<Option<String>>) -> Result<String> {
    if let Some(v) = &gerrit_url.value {
        return normalize_base(v).ok_or_else(|| {
            let err = Error::user(format!(
                "{} is `{v}`, not an http(s) URL: nothing was changed",
                keys::GERRIT_URL.name
            ))
            .hint("set it to the Gerrit server's address: `git config osa.gerritUrl https://review.opendev.org/`");
            match gerrit_url.origin.hint(keys::GERRIT_URL.name) {
                Some(h) => err.hint(h),
                None => err,
            }
        });
    }
    if let Some(host) =
        read(checkout.root.as_path(), ".gitreview").and_then(|t| ini_value(&t, "gerrit", "host"))
    {
        return Ok(format!("https://{host}/"));
    }
    let remote = crate::gerrit::repo::gerrit_remote(&checkout.root);
    if let Some(url) = checkout
        .repo
        .find_remote(&remote)
        .ok()
        .and_then(|r| r.url().ok().map(String::from))
        && let Some(base) = base_of_url(&url)
    {
        return Ok(base);
    }
    Err(Error::user(format!(
        "git-osa does not know where this checkout's Gerrit is (no osa.gerritUrl, no .gitreview host, no remote named {remote}), so it cannot look a Change-Id up: nothing was changed",
    ))
    .hint("name the change by its number or URL, or set `git config osa.gerritUrl https://HOST/`"))
}

fn read(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name)).ok()
}

/// The changes `change:<change>` finds on the server at `base` (a Change-Id, or a change
/// number): one GET.
pub fn query(base: &str, change: &str) -> Result<Vec<ChangeInfo>> {
    let url = format!("{base}changes/?q=change:{change}&o=DETAILED_ACCOUNTS");
    let unreachable = |why: String| {
        Error::user(format!(
            "cannot reach Gerrit's REST API at {url}: {why}; nothing was changed"
        ))
        .hint("check the address (`git config osa.gerritUrl https://HOST/` sets it), your network and the proxy variables (https_proxy, no_proxy)")
        .hint("or name the change by its number or URL: git alone finds those")
    };
    // The system's CAs, as `git fetch` from the same Gerrit trusts them: an internal
    // CA that the system trusts counts, not only the public ones.
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    log::debug!("Gerrit REST: GET {url}");
    let mut answer = agent
        .get(&url)
        .header("Accept", "application/json")
        .call()
        .map_err(|e| unreachable(e.to_string()))?;
    let status = answer.status();
    let body = answer
        .body_mut()
        .with_config()
        .limit(8 << 20)
        .read_to_string()
        .map_err(|e| unreachable(e.to_string()))?;
    if !status.is_success() {
        let first = body.lines().next().unwrap_or_default().trim();
        return Err(unreachable(format!("it answered HTTP {status} {first}")));
    }
    parse_changes(&body).ok_or_else(|| {
        let start: String = body.chars().take(60).collect();
        Error::user(format!(
            "{url} did not answer as Gerrit's REST API does (a JSON list of changes), but `{}`: nothing was changed",
            start.trim().replace('\n', " ")
        ))
        .hint("point git-osa at the Gerrit server: `git config osa.gerritUrl https://HOST/`")
    })
}

/// Which of `found` the user means, narrowing while more than one is left: those of the
/// `projects` (the checkout's, when the Change-Id is the argument), then the open ones,
/// then those on one of `branches`. None when the choice is still open.
pub fn pick<'a>(
    found: &'a [ChangeInfo],
    projects: &[&str],
    branches: &[String],
) -> std::result::Result<&'a ChangeInfo, Vec<&'a ChangeInfo>> {
    let mut left: Vec<&ChangeInfo> = found.iter().collect();
    let narrow = |left: &mut Vec<&'a ChangeInfo>, keep: &dyn Fn(&ChangeInfo) -> bool| {
        if left.len() > 1 && left.iter().any(|c| keep(c)) {
            left.retain(|c| keep(c));
        }
    };
    narrow(&mut left, &|c| projects.contains(&c.project.as_str()));
    narrow(&mut left, &|c| c.is_open());
    narrow(&mut left, &|c| branches.contains(&c.branch));
    match left.as_slice() {
        [one] => Ok(one),
        _ => Err(left),
    }
}

/// The branches the checkout works on: its current branch, that branch's upstream on
/// the server, and `.gitreview`'s defaultbranch.
pub fn checkout_branches(checkout: &Checkout) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(b) =
        read(&checkout.root, ".gitreview").and_then(|t| ini_value(&t, "gerrit", "defaultbranch"))
    {
        out.push(b);
    }
    if let Ok(head) = checkout.repo.head()
        && head.is_branch()
        && let Ok(name) = head.shorthand()
    {
        out.push(name.to_string());
        if let Ok(branch) = checkout.repo.find_branch(name, git2::BranchType::Local)
            && let Ok(up) = branch.upstream()
            && let Ok(Some(up)) = up.name()
        {
            // origin/stable/2025.1 -> stable/2025.1
            if let Some((_, b)) = up.split_once('/') {
                out.push(b.to_string());
            }
        }
    }
    out
}

/// The one change a Change-Id names at `base`: the only one, else the one of `projects`,
/// open, on one of `branches`. `in_footer`: the Change-Id is a Depends-On footer's.
pub fn resolve(
    base: &str,
    change_id: &str,
    projects: &[&str],
    branches: &[String],
    in_footer: bool,
) -> Result<ChangeInfo> {
    let found = query(base, change_id)?;
    let what = if in_footer {
        format!("Depends-On: {change_id}")
    } else {
        change_id.to_string()
    };
    match pick(&found, projects, branches) {
        Ok(one) => Ok(one.clone()),
        Err(left) if left.is_empty() => Err(Error::user(format!(
            "{what}: no change has this Change-Id at {base}: nothing was changed"
        ))
        .hint(format!(
            "check it on {base}q/{change_id}, or name the change by its number or URL"
        ))),
        Err(left) => {
            let list: Vec<String> = left.iter().map(|c| format!("  {}", c.line())).collect();
            let err = Error::user(format!(
                "{what}: {} changes at {base} have this Change-Id, and git-osa cannot tell which one is meant: nothing was changed\n{}",
                left.len(),
                list.join("\n")
            ));
            Err(if in_footer {
                err.hint(
                    "a Depends-On by URL (https://HOST/c/PROJECT/+/NUMBER) names one change; \
                     meanwhile, check the one you mean out and pass it with --with PATH",
                )
            } else {
                err.hint(format!(
                    "pass the number of the one to review: `git osa review {}`",
                    left[0].number
                ))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(number: u64, project: &str, branch: &str, status: &str) -> ChangeInfo {
        ChangeInfo {
            number,
            project: project.into(),
            branch: branch.into(),
            status: status.into(),
            subject: format!("change {number}"),
            owner: String::new(),
        }
    }

    #[test]
    fn an_answer_is_json_after_gerrits_prefix() {
        let body = ")]}'\n[{\"id\":\"x\",\"project\":\"openstack/keystone\",\"branch\":\"master\",\
                    \"change_id\":\"I01\",\"subject\":\"Fix it\",\"status\":\"NEW\",\"_number\":4711,\
                    \"owner\":{\"_account_id\":7,\"name\":\"Jane Doe\",\"email\":\"jane@example.org\"}},\
                    {\"project\":\"p\",\"branch\":\"b\",\"_number\":2,\"owner\":{\"_account_id\":9}}]\n";
        let got = parse_changes(body).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            ChangeInfo {
                number: 4711,
                project: "openstack/keystone".into(),
                branch: "master".into(),
                status: "NEW".into(),
                subject: "Fix it".into(),
                owner: "Jane Doe <jane@example.org>".into(),
            }
        );
        assert_eq!(got[1].owner, "account 9");
        assert_eq!(parse_changes(")]}'\n[]\n"), Some(vec![]));
        assert_eq!(parse_changes("<html>Not Gerrit</html>"), None);
        assert_eq!(parse_changes(")]}'\n{\"message\":\"x\"}"), None);
    }

    #[test]
    fn the_base_url_is_the_servers_host_over_https() {
        for (url, want) in [
            (
                "ssh://me@review.opendev.org:29418/openstack/keystone",
                Some("https://review.opendev.org/"),
            ),
            (
                "me@review.opendev.org:openstack/keystone.git",
                Some("https://review.opendev.org/"),
            ),
            (
                "https://review.example.org:8443/openstack/nova",
                Some("https://review.example.org:8443/"),
            ),
            (
                "git://127.0.0.1:9418/openstack/keystone",
                Some("https://127.0.0.1/"),
            ),
            ("ssh://[::1]:29418/x/y", Some("https://[::1]/")),
            ("/srv/git/keystone", None),
        ] {
            assert_eq!(base_of_url(url).as_deref(), want, "{url}");
        }
        assert_eq!(
            normalize_base("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080/")
        );
        assert_eq!(
            normalize_base("https://review.example.org/r//").as_deref(),
            Some("https://review.example.org/r/")
        );
        assert_eq!(normalize_base("review.opendev.org"), None);
        assert_eq!(normalize_base("ftp://review.opendev.org/"), None);
    }

    #[test]
    fn the_checkouts_project_then_open_then_its_branch_is_preferred() {
        let ks = "openstack/keystone";
        let master = vec!["master".to_string()];
        let all = [
            change(1, ks, "master", "NEW"),
            change(2, ks, "stable/2025.1", "NEW"),
            change(3, "openstack/nova", "master", "NEW"),
            change(4, ks, "stable/2024.2", "MERGED"),
        ];
        assert_eq!(pick(&all, &[ks], &master).unwrap().number, 1);
        let stable = vec!["stable/2025.1".to_string()];
        assert_eq!(pick(&all, &[ks], &stable).unwrap().number, 2);
        // On another branch: the two open keystone changes are the user's choice.
        let other = vec!["my-work".to_string()];
        let left: Vec<u64> = pick(&all, &[ks], &other)
            .unwrap_err()
            .iter()
            .map(|c| c.number)
            .collect();
        assert_eq!(left, [1, 2]);
        // One answer is taken whatever it is (the caller checks its project).
        assert_eq!(pick(&all[2..3], &[ks], &other).unwrap().number, 3);
        // Only a merged one of the checkout's project: that one.
        assert_eq!(pick(&all[2..], &[ks], &other).unwrap().number, 4);
        assert!(pick(&[], &[ks], &master).unwrap_err().is_empty());
    }
}
