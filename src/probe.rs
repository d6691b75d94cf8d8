//! One round trip that reads what git-osa needs to know about a target: the units'
//! systemd properties, a few files (session state, OSA's facts, constraints) and which
//! of some paths exist (the service's venvs). Each `lxc-attach` costs ~6 ms; asking once per container keeps
//! `status` and the start of a run fast.

use std::collections::HashMap;

use crate::error::Result;
use crate::systemd::{self, UnitInfo};
use crate::transport::Target;

/// Constant script; units, files and globs arrive as arguments ([`args`]).
pub(crate) const SCRIPT: &str = r#"
props=$1; units=$2; globs=$3; shift 3
out=$(
  if command -v systemctl >/dev/null 2>&1; then
    # unit names are checked by git-osa to hold no blanks: word splitting is intended
    [ -n "$units" ] && systemctl show --no-pager -p "$props" $units 2>/dev/null
  fi
)
printf '@@systemd %s\n%s' "$(printf %s "$out" | wc -c)" "$out"
for f in "$@"; do
  if [ -f "$f" ]; then printf '@@file %s %s\n' "$(wc -c < "$f")" "$f"; cat "$f"
  else printf '@@missing 0 %s\n' "$f"; fi
done
[ -n "$globs" ] && ls -d -- $globs 2>/dev/null | sed 's/^/@@path 0 /'
exit 0
"#;

#[derive(Debug, Clone, Default)]
pub struct Probe {
    pub units: Vec<UnitInfo>,
    pub files: HashMap<String, Vec<u8>>,
    /// Existing paths that matched the globs.
    pub paths: Vec<String>,
}

impl Probe {
    pub fn unit(&self, name: &str) -> Option<&UnitInfo> {
        let id = unit_id(name);
        self.units.iter().find(|u| u.id == id)
    }

    pub fn file(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }
}

/// `name.service` unless the name already has a unit type suffix.
pub fn unit_id(name: &str) -> String {
    if [".service", ".scope", ".socket", ".target", ".timer"]
        .iter()
        .any(|s| name.ends_with(s))
    {
        name.to_string()
    } else {
        format!("{name}.service")
    }
}

/// Reads `units`, `files` and which paths match `globs` (blank-separated) in one call.
pub fn probe(target: &Target, units: &[String], files: &[String], globs: &str) -> Result<Probe> {
    let argv = crate::exec::sh(SCRIPT, "git-osa-probe", &args(units, files, globs)?);
    let out = target.run(&argv, None)?;
    parse(&out.stdout).map_err(|e| anyhow::anyhow!("{e} (probing {})", target.name).into())
}

/// The arguments [`SCRIPT`] takes for `units`, `files` and `globs`.
pub(crate) fn args(units: &[String], files: &[String], globs: &str) -> Result<Vec<String>> {
    for u in units {
        if u.is_empty() || u.chars().any(|c| c.is_whitespace() || "*?[".contains(c)) {
            return Err(anyhow::anyhow!("not a systemd unit name: {u:?}").into());
        }
    }
    let ids: Vec<String> = units.iter().map(|u| unit_id(u)).collect();
    let mut args = vec![
        systemd::PROPERTIES.to_string(),
        ids.join(" "),
        globs.to_string(),
    ];
    args.extend(files.iter().cloned());
    Ok(args)
}

pub(crate) fn parse(mut data: &[u8]) -> std::result::Result<Probe, String> {
    let mut probe = Probe::default();
    while !data.is_empty() {
        let nl = data
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("truncated probe answer")?;
        let line = String::from_utf8_lossy(&data[..nl]).into_owned();
        data = &data[nl + 1..];
        let (kind, len, name) = header(&line)?;
        if len > data.len() {
            return Err("truncated probe answer".into());
        }
        let (body, rest) = data.split_at(len);
        data = rest;
        match kind {
            "@@systemd" => probe.units = systemd::parse_show(&String::from_utf8_lossy(body)),
            "@@file" => {
                probe.files.insert(name.to_string(), body.to_vec());
            }
            "@@missing" => {}
            "@@path" => probe.paths.push(name.to_string()),
            _ => return Err(format!("bad probe header {line:?}")),
        }
    }
    Ok(probe)
}

/// A section's header line: its kind, the length of its body, its name.
fn header(line: &str) -> std::result::Result<(&str, usize, &str), String> {
    let mut parts = line.splitn(3, ' ');
    let (kind, len, name) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let len = len
        .trim()
        .parse()
        .map_err(|_| format!("bad probe header {line:?}"))?;
    Ok((kind, len, name))
}

/// Reads one answer from a stream that goes on after it (the lock's holder ends each with
/// `@@end STATUS`): the sections as [`parse`] takes them (none for a record's write), or
/// why not. An I/O error is the stream's end.
pub(crate) fn read_until_end(
    out: &mut impl std::io::BufRead,
) -> std::io::Result<std::result::Result<Vec<u8>, String>> {
    let mut answer = Vec::new();
    loop {
        let mut line = Vec::new();
        if out.read_until(b'\n', &mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches('\n');
        if let Some(status) = text.strip_prefix("@@end ") {
            return Ok(match status {
                "0" => Ok(answer),
                _ => Err(format!("the request failed (exit {status})")),
            });
        }
        let len = match header(text) {
            Ok((_, len, _)) => len,
            Err(e) => return Ok(Err(e)),
        };
        answer.extend_from_slice(&line);
        let at = answer.len();
        answer.resize(at + len, 0);
        out.read_exact(&mut answer[at..])?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_with_binary_safe_lengths() {
        let show = "Id=a.service\nLoadState=loaded\nActiveState=active\nSubState=running";
        let file = "x@@file 3 y\nz";
        let answer = format!(
            "@@systemd {}\n{show}@@file {} /etc/f\n{file}@@missing 0 /nope\n@@path 0 /openstack/venvs/keystone-30.0.0\n",
            show.len(),
            file.len()
        );
        let p = parse(answer.as_bytes()).unwrap();
        assert_eq!(p.unit("a").unwrap().active_state, "active");
        assert_eq!(p.file("/etc/f"), Some(file.as_bytes()));
        assert_eq!(p.file("/nope"), None);
        assert_eq!(p.paths, ["/openstack/venvs/keystone-30.0.0"]);
    }

    #[test]
    fn truncated_answers_are_errors() {
        assert!(parse(b"@@file 10 /f\nabc").is_err());
        assert!(parse(b"@@systemd x\n").is_err());
    }

    #[test]
    fn unit_ids_get_a_suffix_once() {
        assert_eq!(unit_id("heat-engine"), "heat-engine.service");
        assert_eq!(unit_id("git-osa-dev.scope"), "git-osa-dev.scope");
    }
}
