//! Hot patching (`git osa run --detach --hot-patch`): a sync whose edits change only the
//! bodies of functions is applied in the running uWSGI workers, without a reload. The
//! agent (`hot_patch.py`) runs in each detached uWSGI master after the preload and starts
//! a thread in each worker; a sync writes a request, each worker patches or says why it
//! cannot, and any refusal makes the sync reload the workers as it does without this.
//!
//! Why git-osa's own agent and not `jurigged`, which does the same for a whole process:
//! jurigged applies whatever it can, module-level statements re-run included, where a
//! worker of a service must take only what is safe (function bodies) and refuse the rest;
//! git-osa needs each worker's verdict before it decides against a reload; and jurigged
//! would bring its dependencies (watchdog, codefind, ovld, blessed, rich) into the
//! service's venv, from a repo server that does not carry them.

use std::process::Output;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::plan::HotPatch;

/// The agent, written beside the session's preload script.
pub const AGENT: &str = include_str!("hot_patch.py");

/// In the container, `sh -c ASK git-osa-hot-patch DIR ID REQUEST UNIT...`: writes REQUEST
/// as `DIR/request` and waits until each worker of the units UNIT... has answered it in
/// `DIR/ack-PID` (the agent's JSON, one line). A unit's master is found from /proc
/// (`unit_processes!`); its workers are the master's children, listed anew each time, as
/// a worker may be respawned meanwhile. Prints the first refusal as soon as one comes, else every worker's answer,
/// one per line; exits 4 when a unit has no running master or no worker, 5 when a worker
/// has not answered within 10 s (its agent is not running).
///
/// A shell, not Python: the answer is on the critical path of a hot patch, and Python's
/// start (with `subprocess` for `systemctl show`) cost ~35 ms of a ~90 ms ask, measured
/// in the lab's keystone container; the ask now takes 40-55 ms, most of it the agents'.
pub const ASK: &str = concat!(
    crate::systemd::unit_processes!(),
    r#"
hot=$1; rid=$2; req=$3; shift 3
masters=" "
for unit in "$@"; do
  master_of "$unit" || { echo "$unit is not running" >&2; exit 4; }
  masters="$masters$master "
done
umask 022
printf '%s' "$req" > "$hot/request.tmp" && mv -f "$hot/request.tmp" "$hot/request" || exit 1
read -r up _ < /proc/uptime
deadline=$(( ${up%.*} + 10 ))
while :; do
  pending= acks=
  children_of "$masters"
  workers=$kids
  for p in $kids; do
    a=
    { read -r a < "$hot/ack-$p"; } 2>/dev/null
    case $a in
      "{\"id\": \"$rid\","*'"why": null}') acks="$acks$a
" ;;
      "{\"id\": \"$rid\","*) printf '%s\n' "$a"; exit 0 ;;
      *) pending="$pending $p" ;;
    esac
  done
  [ -n "$workers" ] || { echo "$* has no worker" >&2; exit 4; }
  [ -z "$pending" ] && { printf '%s' "$acks"; exit 0; }
  read -r up _ < /proc/uptime
  if [ "${up%.*}" -ge "$deadline" ]; then
    set -- $pending
    echo "worker$([ $# -gt 1 ] && echo s) $* did not answer within 10 s (is its hot-patch agent running?)" >&2
    exit 5
  fi
  sleep 0.002
done
"#
);

#[derive(Serialize)]
struct Request<'a> {
    id: &'a str,
    files: &'a [String],
}

/// The command that asks the workers of `scopes` to apply `hot`, under the request id `id`.
pub fn ask(hot: &HotPatch, id: &str, scopes: &[&str]) -> Result<Vec<String>> {
    let request = serde_json::to_string(&Request {
        id,
        files: &hot.files,
    })
    .map_err(|e| Error::failed(format!("the hot-patch request: {e}")))?;
    let mut args = vec![hot.dir.as_str(), id, request.as_str()];
    args.extend(scopes);
    Ok(crate::exec::sh(ASK, "git-osa-hot-patch", &args))
}

/// One worker's answer, as its agent writes it.
#[derive(Deserialize)]
struct Ack {
    patched: Option<u64>,
    why: Option<String>,
}

/// What the workers answered.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// Every worker replaced the code of these many functions (the most of any worker).
    Patched { functions: u64, workers: u64 },
    /// Why they could not: the units reload instead.
    Refused(String),
}

pub fn answer(out: &Output) -> Answer {
    let said = |b: &[u8]| String::from_utf8_lossy(b).trim().to_string();
    match out.status.code() {
        Some(0) => {
            let text = said(&out.stdout);
            let acks: Option<Vec<Ack>> =
                text.lines().map(|l| serde_json::from_str(l).ok()).collect();
            match acks {
                Some(acks) if !acks.is_empty() => {
                    if let Some(why) = acks.iter().find_map(|a| a.why.clone()) {
                        return Answer::Refused(why);
                    }
                    Answer::Patched {
                        functions: acks.iter().filter_map(|a| a.patched).max().unwrap_or(0),
                        workers: acks.len() as u64,
                    }
                }
                _ => Answer::Refused(format!("the workers' answer cannot be read: {text:?}")),
            }
        }
        _ => {
            let why = said(&out.stderr);
            Answer::Refused(if why.is_empty() {
                format!("asking the workers failed ({})", out.status)
            } else {
                why.lines().last().unwrap_or_default().to_string()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn out(code: i32, stdout: &str, stderr: &str) -> Output {
        Output {
            status: std::process::ExitStatus::from_raw(code << 8),
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
        }
    }

    #[test]
    fn the_answer_says_what_was_patched_or_why_not() {
        let ok = |n: u64| format!(r#"{{"id": "1-2", "patched": {n}, "why": null}}"#);
        assert_eq!(
            answer(&out(0, &format!("{}\n{}\n", ok(3), ok(2)), "")),
            Answer::Patched {
                functions: 3,
                workers: 2
            }
        );
        assert_eq!(
            answer(&out(
                0,
                r#"{"id": "1-2", "patched": 0, "why": "keystone/x.py: more than function bodies changed, at line 4 (\"a\")"}"#,
                ""
            )),
            Answer::Refused(
                r#"keystone/x.py: more than function bodies changed, at line 4 ("a")"#.into()
            )
        );
        assert_eq!(
            answer(&out(4, "", "git-osa-dev-k.service is not running\n")),
            Answer::Refused("git-osa-dev-k.service is not running".into())
        );
        assert_eq!(
            answer(&out(0, "garbled", "")),
            Answer::Refused("the workers' answer cannot be read: \"garbled\"".into())
        );
        assert!(
            matches!(answer(&out(0, "", "")), Answer::Refused(w) if w.contains("cannot be read"))
        );
        assert!(matches!(answer(&out(1, "", "")), Answer::Refused(w) if w.contains("failed")));
    }

    #[test]
    fn the_request_travels_as_one_argument_of_json() {
        let hot = HotPatch {
            dir: "/var/lib/git-osa/keystone/hot".into(),
            files: vec!["/var/lib/git-osa/keystone/src/keystone/a b.py".into()],
        };
        let argv = ask(&hot, "42-7", &["git-osa-dev-k.service"]).unwrap();
        assert_eq!(argv[..4], ["sh", "-c", ASK, "git-osa-hot-patch"]);
        assert_eq!(
            argv[4..],
            [
                "/var/lib/git-osa/keystone/hot",
                "42-7",
                r#"{"id":"42-7","files":["/var/lib/git-osa/keystone/src/keystone/a b.py"]}"#,
                "git-osa-dev-k.service"
            ]
        );
    }
}
