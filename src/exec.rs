//! A command as a value: its argv, the user it runs as, its environment, what it reads on
//! stdin, the transient scope it runs in. Plans carry these (`plan.rs`), the executor
//! runs them in a target (`execute.rs`), the dry run prints them; nothing else builds a
//! command for a target by hand.
//!
//! Where a shell is needed in a target, [`sh`] is the one way to call it: the script is a
//! constant of git-osa and the data travels as positional arguments (`$1`, `$2`...), never
//! pasted into the script's text.

use crate::sync::SyncPayload;

/// `sh -c SCRIPT NAME ARGS...`: a constant script, `NAME` as its `$0` (what logs and `ps`
/// show), its data as positional arguments.
pub fn sh<S: AsRef<str>>(script: &str, name: &str, args: &[S]) -> Vec<String> {
    let mut argv = vec!["sh".to_string(), "-c".into(), script.into(), name.into()];
    argv.extend(args.iter().map(|a| a.as_ref().to_string()));
    argv
}

/// `systemd-run --scope ... --unit=SCOPE --`: what runs after it runs in the transient
/// scope `scope`, which `systemctl stop` ends with everything it started.
pub fn scope_prefix(scope: &str) -> Vec<String> {
    vec![
        "systemd-run".into(),
        "--scope".into(),
        "--quiet".into(),
        "--collect".into(),
        format!("--unit={scope}"),
    ]
}

/// What a command reads on stdin.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Bytes(Vec<u8>),
    /// The sync's tar stream, made from the checkout when the step runs (see `sync.rs`).
    Sync(SyncPayload),
    /// A secret (a database password): a plan shows what it is, never its bytes nor their
    /// number.
    Secret(Secret),
}

/// Bytes a plan must not reveal, named by what they are.
#[derive(Clone, PartialEq)]
pub struct Secret {
    /// What it is, as a dry run says it ("the service's database password").
    pub what: String,
    bytes: Vec<u8>,
}

impl Secret {
    pub fn new(what: impl Into<String>, bytes: Vec<u8>) -> Secret {
        Secret {
            what: what.into(),
            bytes,
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// `{:?}` (debug logs, test failures) names the secret and hides it.
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({})", self.what)
    }
}

/// A command in the target; as root unless `user` is set (then through runuser).
#[derive(Debug, Clone, PartialEq)]
pub struct Exec {
    pub argv: Vec<String>,
    pub user: Option<String>,
    pub env: Vec<(String, String)>,
    pub stdin: Option<Input>,
    /// Long steps (seconds: copies, pip, db sync) run in this transient scope, so that
    /// restore can stop whatever a killed git-osa left running before it touches the
    /// venv, and Ctrl-C can stop them at once; on a terminal they get a spinner.
    pub scope: Option<String>,
    /// Once started it runs to its end: a signal is acted on after it, never during it
    /// (a db sync cut in half leaves the schema between two versions).
    pub to_the_end: bool,
}

impl Exec {
    pub fn new(argv: Vec<String>) -> Exec {
        Exec {
            argv,
            user: None,
            env: Vec::new(),
            stdin: None,
            scope: None,
            to_the_end: false,
        }
    }

    /// A constant shell script with its data as positional arguments (`$1`, `$2`...).
    pub fn script(script: &str, name: &str, args: &[&str]) -> Exec {
        Exec::new(sh(script, name, args))
    }

    /// Writes what it reads on stdin to `path`, readable by all (0644), through a new file
    /// renamed over it: a reader never sees half of it.
    pub fn write_file(path: &str, name: &str, bytes: Vec<u8>) -> Exec {
        Exec::script(
            r#"cat > "$1.new" && chmod 0644 "$1.new" && mv -f "$1.new" "$1""#,
            name,
            &[path],
        )
        .with_stdin(Input::Bytes(bytes))
    }

    pub fn run_as(mut self, user: &str) -> Exec {
        self.user = Some(user.to_string());
        self
    }

    pub fn with_env(mut self, env: Vec<(String, String)>) -> Exec {
        self.env = env;
        self
    }

    pub fn with_stdin(mut self, input: Input) -> Exec {
        self.stdin = Some(input);
        self
    }

    pub fn in_scope(mut self, scope: String) -> Exec {
        self.scope = Some(scope);
        self
    }

    pub fn runs_to_the_end(mut self) -> Exec {
        self.to_the_end = true;
        self
    }

    /// The argv actually run in the target.
    pub fn full_argv(&self) -> Vec<String> {
        let mut full = Vec::new();
        if let Some(s) = &self.scope {
            full.extend(scope_prefix(s));
            full.push("--".into());
        }
        if let Some(u) = &self.user {
            full.extend(["runuser".to_string(), "-u".into(), u.clone(), "--".into()]);
        }
        if !self.env.is_empty() {
            full.push("env".into());
            full.extend(self.env.iter().map(|(k, v)| format!("{k}={v}")));
        }
        full.extend(self.argv.iter().cloned());
        full
    }
}
