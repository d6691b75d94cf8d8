//! Configuration files as text: an ini file's (oslo.config's, paste's, uWSGI's) entries
//! read and one of them set or taken out in place, everything else of the file kept as
//! it was (comments, order, spacing); a policy file's rule (YAML or JSON) set. Pure
//! functions: what is read from the container goes in, what is written comes out.

/// One `key = value` of an ini file, in its section (`DEFAULT` before any header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub section: String,
    pub key: String,
    pub value: String,
}

/// The lines of an ini file, each with the section it is in and, for an entry, its key.
struct Line<'a> {
    text: &'a str,
    section: String,
    /// An entry's key; a header's is None.
    key: Option<String>,
    header: bool,
    /// A continuation of the entry above (an indented line).
    continued: bool,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut section = "DEFAULT".to_string();
    let mut in_entry = false;
    for text in text.split_inclusive('\n') {
        let raw = text.trim_end_matches(['\n', '\r']);
        let t = raw.trim();
        let indented = raw.starts_with([' ', '\t']);
        let comment = t.starts_with('#') || t.starts_with(';');
        if t.starts_with('[') && t.ends_with(']') && !indented {
            section = t[1..t.len() - 1].trim().to_string();
            in_entry = false;
            out.push(Line {
                text,
                section: section.clone(),
                key: None,
                header: true,
                continued: false,
            });
            continue;
        }
        if indented && in_entry && !t.is_empty() && !comment {
            out.push(Line {
                text,
                section: section.clone(),
                key: None,
                header: false,
                continued: true,
            });
            continue;
        }
        let key = if t.is_empty() || comment || indented {
            None
        } else {
            t.split_once(['=', ':']).map(|(k, _)| k.trim().to_string())
        };
        in_entry = key.is_some();
        out.push(Line {
            text,
            section: section.clone(),
            key,
            header: false,
            continued: false,
        });
    }
    out
}

/// Every entry, in order; a value continued on indented lines is joined with newlines.
pub fn entries(text: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for l in lines(text) {
        if l.continued {
            if let Some(last) = out.last_mut() {
                last.value.push('\n');
                last.value.push_str(l.text.trim());
            }
            continue;
        }
        if let Some(key) = l.key {
            let value = l
                .text
                .trim()
                .split_once(['=', ':'])
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default();
            out.push(Entry {
                section: l.section,
                key,
                value,
            });
        }
    }
    out
}

/// The value of `key` in `section`, the last one when it is given twice (as oslo.config
/// and Python's configparser read it).
pub fn get(text: &str, section: &str, key: &str) -> Option<String> {
    entries(text)
        .into_iter()
        .rfind(|e| e.section == section && e.key == key)
        .map(|e| e.value)
}

/// Whether the file has the section (`DEFAULT` always counts as there).
pub fn has_section(text: &str, section: &str) -> bool {
    section == "DEFAULT" || lines(text).iter().any(|l| l.header && l.section == section)
}

/// `text` with `key = value` in `section`: the entry replaced where it is (its continued
/// lines with it), else added after the section's last entry, else the section added at
/// the end.
pub fn set(text: &str, section: &str, key: &str, value: &str) -> String {
    let ls = lines(text);
    let entry = format!("{key} = {value}\n");
    if let Some(at) = ls
        .iter()
        .rposition(|l| l.section == section && l.key.as_deref() == Some(key))
    {
        let mut out = String::new();
        let mut skipping = false;
        for (i, l) in ls.iter().enumerate() {
            if i == at {
                out.push_str(&entry);
                skipping = true;
                continue;
            }
            if skipping && l.continued {
                continue;
            }
            skipping = false;
            out.push_str(l.text);
        }
        return out;
    }
    let last_in_section = ls
        .iter()
        .rposition(|l| l.section == section && (l.key.is_some() || l.continued || l.header));
    let mut out = String::new();
    match last_in_section {
        Some(at) => {
            for (i, l) in ls.iter().enumerate() {
                out.push_str(l.text);
                if i == at {
                    if !l.text.ends_with('\n') {
                        out.push('\n');
                    }
                    out.push_str(&entry);
                }
            }
        }
        None => {
            out.push_str(text);
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("[{section}]\n{entry}"));
        }
    }
    out
}

/// `text` without `key` in `section` (and its continued lines).
pub fn remove(text: &str, section: &str, key: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for l in lines(text) {
        if l.section == section && l.key.as_deref() == Some(key) {
            skipping = true;
            continue;
        }
        if skipping && l.continued {
            continue;
        }
        skipping = false;
        out.push_str(l.text);
    }
    out
}

/// A policy file's rules, YAML (`"rule": "check"` a line, as oslo.policy's generator
/// writes them) or JSON, by key.
pub fn policy_rules(text: &str, json: bool) -> Vec<(String, String)> {
    if json {
        return serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text)
            .map(|m| {
                m.into_iter()
                    .map(|(k, v)| (k, v.as_str().map(String::from).unwrap_or(v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
    }
    text.lines().filter_map(yaml_rule).collect()
}

/// `"key": "value"` (or unquoted) on a line of its own at the top level.
fn yaml_rule(line: &str) -> Option<(String, String)> {
    if line.starts_with([' ', '\t', '#']) || line.trim().is_empty() {
        return None;
    }
    let (key, rest) = if let Some(r) = line.strip_prefix('"') {
        let end = r.find("\":")?;
        (r[..end].to_string(), &r[end + 2..])
    } else if let Some(r) = line.strip_prefix('\'') {
        let end = r.find("':")?;
        (r[..end].to_string(), &r[end + 2..])
    } else {
        let (k, r) = line
            .split_once(": ")
            .or_else(|| line.strip_suffix(':').map(|k| (k, "")))?;
        (k.trim().to_string(), r)
    };
    let v = rest.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(v);
    Some((key, v.to_string()))
}

/// `text` with the policy rule `key` set to `value`: its line replaced, else added (YAML);
/// the document written again (JSON).
pub fn set_policy(text: &str, key: &str, value: &str, json: bool) -> Result<String, String> {
    if json {
        let mut m: serde_json::Map<String, serde_json::Value> = if text.trim().is_empty() {
            serde_json::Map::new()
        } else {
            serde_json::from_str(text).map_err(|e| format!("it is not a JSON object: {e}"))?
        };
        m.insert(
            key.to_string(),
            serde_json::Value::String(value.to_string()),
        );
        let mut out = serde_json::to_string_pretty(&m).map_err(|e| e.to_string())?;
        out.push('\n');
        return Ok(out);
    }
    let line = format!(
        "{}: {}\n",
        serde_json::Value::String(key.to_string()),
        serde_json::Value::String(value.to_string())
    );
    let mut out = String::new();
    let mut done = false;
    for l in text.split_inclusive('\n') {
        if !done && yaml_rule(l.trim_end_matches(['\n', '\r'])).is_some_and(|(k, _)| k == key) {
            out.push_str(&line);
            done = true;
        } else {
            out.push_str(l);
        }
    }
    if !done {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&line);
    }
    Ok(out)
}

/// `text` without the rule `key` (YAML: its line; JSON: its member).
pub fn remove_policy(text: &str, key: &str, json: bool) -> Result<String, String> {
    if json {
        let mut m: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| format!("it is not a JSON object: {e}"))?;
        m.remove(key);
        let mut out = serde_json::to_string_pretty(&m).map_err(|e| e.to_string())?;
        out.push('\n');
        return Ok(out);
    }
    Ok(text
        .split_inclusive('\n')
        .filter(|l| yaml_rule(l.trim_end_matches(['\n', '\r'])).is_none_or(|(k, _)| k != key))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYSTONE: &str = "# Modelled on os_keystone\n\n[DEFAULT]\nuse_journal = True\n# Disable stderr logging\nuse_stderr = False\ndebug = False\n\n[cache]\nenabled = false\n\n[database]\nconnection = sqlite:////var/lib/keystone/db/keystone.db\n";

    #[test]
    fn an_entry_is_replaced_where_it_is_and_everything_else_kept() {
        let out = set(KEYSTONE, "DEFAULT", "debug", "True");
        assert_eq!(out, KEYSTONE.replace("debug = False", "debug = True"));
        assert_eq!(get(&out, "DEFAULT", "debug").as_deref(), Some("True"));
        // once more: nothing else moves
        assert_eq!(set(&out, "DEFAULT", "debug", "True"), out);
        assert_eq!(
            remove(&out, "DEFAULT", "debug"),
            KEYSTONE.replace("debug = False\n", "")
        );
    }

    #[test]
    fn a_new_entry_goes_after_its_sections_last_and_a_new_section_at_the_end() {
        let out = set(KEYSTONE, "cache", "backend", "dogpile.cache.memory");
        assert!(
            out.contains("[cache]\nenabled = false\nbackend = dogpile.cache.memory\n\n[database]"),
            "{out}"
        );
        let out = set(KEYSTONE, "token", "expiration", "60");
        assert!(
            out.ends_with("keystone.db\n\n[token]\nexpiration = 60\n"),
            "{out}"
        );
        assert!(has_section(&out, "token") && !has_section(KEYSTONE, "token"));
        assert_eq!(
            set("", "uwsgi", "processes", "1"),
            "[uwsgi]\nprocesses = 1\n"
        );
    }

    /// A paste pipeline continues on indented lines: replaced whole.
    #[test]
    fn continued_values_are_one_entry() {
        let paste = "[pipeline:heat-api]\npipeline = cors request_id\n    authtoken context apiv1app\n\n[app:apiv1app]\nheat.app_factory = heat.api.openstack.v1:API\n";
        let e = entries(paste);
        assert_eq!(e[0].key, "pipeline");
        assert_eq!(e[0].value, "cors request_id\nauthtoken context apiv1app");
        let out = set(paste, "pipeline:heat-api", "pipeline", "cors apiv1app");
        assert_eq!(
            out,
            "[pipeline:heat-api]\npipeline = cors apiv1app\n\n[app:apiv1app]\nheat.app_factory = heat.api.openstack.v1:API\n"
        );
        assert_eq!(
            remove(paste, "pipeline:heat-api", "pipeline"),
            "[pipeline:heat-api]\n\n[app:apiv1app]\nheat.app_factory = heat.api.openstack.v1:API\n"
        );
    }

    #[test]
    fn policy_rules_are_set_and_taken_out_by_key() {
        let yaml = "# keystone's policy\n\"identity:get_user\": \"rule:admin_required\"\n\"identity:list_users\": \"rule:admin_required\"\n";
        let out = set_policy(yaml, "identity:get_user", "", false).unwrap();
        assert_eq!(
            out,
            yaml.replace(
                "\"rule:admin_required\"\n\"identity:list",
                "\"\"\n\"identity:list"
            )
        );
        assert_eq!(
            policy_rules(&out, false)[0],
            ("identity:get_user".to_string(), String::new())
        );
        let added = set_policy(yaml, "identity:get_domain", "role:reader", false).unwrap();
        assert!(
            added.ends_with("\"identity:get_domain\": \"role:reader\"\n"),
            "{added}"
        );
        assert_eq!(
            remove_policy(&added, "identity:get_domain", false).unwrap(),
            yaml
        );
        let json = set_policy("{\"a\": \"b\"}", "c", "d", true).unwrap();
        assert_eq!(
            policy_rules(&json, true),
            [("a".into(), "b".into()), ("c".into(), "d".into())]
        );
        assert!(set_policy("not json", "a", "b", true).is_err());
    }
}
