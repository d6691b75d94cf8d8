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

use serde::Serialize;

use crate::error::{Error, Result};
use crate::plan::HotPatch;

/// The agent, written beside the session's preload script.
pub const AGENT: &str = include_str!("hot_patch.py");

/// In the container, `python3 -c ASK DIR ID REQUEST SCOPE...`: writes REQUEST as
/// `DIR/request` and waits until each worker of the units SCOPE... (the children of each
/// uWSGI master, listed anew each time, as a worker may be respawned meanwhile) has
/// answered it in `DIR/ack-PID`. Prints `FUNCTIONS WORKERS` when every worker patched;
/// exits 7 with the first reason when one cannot, 4 when a unit has no running master or
/// no worker, 5 when a worker has not answered within 10 s (its agent is not running).
pub const ASK: &str = r#"
import json, os, subprocess, sys, time
hot, rid, req = sys.argv[1:4]
scopes = sys.argv[4:]

masters = set()
for s in scopes:
    main = subprocess.run(["systemctl", "show", "-p", "MainPID", "--value", s],
                          capture_output=True, text=True).stdout.strip()
    if not main or main == "0":
        print("%s is not running" % s, file=sys.stderr)
        sys.exit(4)
    masters.add(main)

def workers():
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                ppid = f.read().rsplit(")", 1)[1].split()[1]
        except (OSError, IndexError):
            continue
        if ppid in masters:
            pids.append(p)
    if not pids:
        print("%s has no worker" % ", ".join(scopes), file=sys.stderr)
        sys.exit(4)
    return pids

tmp = os.path.join(hot, "request.tmp")
with open(tmp, "w") as f:
    f.write(req)
os.chmod(tmp, 0o644)
os.replace(tmp, os.path.join(hot, "request"))
deadline = time.monotonic() + 10
while True:
    pending, why, patched = [], [], 0
    pids = workers()
    for pid in pids:
        try:
            with open(os.path.join(hot, "ack-" + pid)) as f:
                ack = json.load(f)
        except (OSError, ValueError):
            ack = None
        if not ack or ack.get("id") != rid:
            pending.append(pid)
        elif ack.get("why"):
            why.append(ack["why"])
        else:
            patched = max(patched, ack.get("patched") or 0)
    if why:
        print(why[0], file=sys.stderr)
        sys.exit(7)
    if not pending:
        print(patched, len(pids))
        sys.exit(0)
    if time.monotonic() > deadline:
        print("worker%s %s did not answer within 10 s (is its hot-patch agent running?)"
              % ("s" if len(pending) > 1 else "", ", ".join(pending)), file=sys.stderr)
        sys.exit(5)
    time.sleep(0.01)
"#;

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
    let mut argv: Vec<String> = vec![
        "/usr/bin/python3".into(),
        "-c".into(),
        ASK.into(),
        hot.dir.clone(),
        id.into(),
        request,
    ];
    argv.extend(scopes.iter().map(|s| s.to_string()));
    Ok(argv)
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
            let mut n = text.split_whitespace().map(|w| w.parse::<u64>().ok());
            match (n.next().flatten(), n.next().flatten()) {
                (Some(functions), Some(workers)) => Answer::Patched { functions, workers },
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
        assert_eq!(
            answer(&out(0, "3 2\n", "")),
            Answer::Patched {
                functions: 3,
                workers: 2
            }
        );
        assert_eq!(
            answer(&out(
                7,
                "",
                "keystone/x.py: more than function bodies changed, at line 4\n"
            )),
            Answer::Refused("keystone/x.py: more than function bodies changed, at line 4".into())
        );
        assert_eq!(
            answer(&out(0, "garbled", "")),
            Answer::Refused("the workers' answer cannot be read: \"garbled\"".into())
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
        assert_eq!(argv[..2], ["/usr/bin/python3", "-c"]);
        assert_eq!(
            argv[3..],
            [
                "/var/lib/git-osa/keystone/hot",
                "42-7",
                r#"{"id":"42-7","files":["/var/lib/git-osa/keystone/src/keystone/a b.py"]}"#,
                "git-osa-dev-k.service"
            ]
        );
    }
}
