//! `git osa watch`: each burst of saves in the checkout becomes one `git osa sync`, run
//! in this process; on the terminal with the dev units' logs, or in the background
//! (`--detach`). What changes and when a burst is over is `watch.rs`'s business.
//!
//! Syncs take the hooks' lock (`.git/git-osa/lock`): a git hook's redeploy and a
//! watcher's sync never run the cycle at once, and a redeploy a hook wanted while the
//! watcher held the lock is the watcher's to run.

use std::fs::{File, OpenOptions};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use notify::event::ModifyKind;
use notify::{EventKind, RecursiveMode, Watcher as _};

use crate::cli::{RunArgs, SyncArgs, WatchArgs};
use crate::commands::logs::{Following as Logs, journal_argv};
use crate::context::Context;
use crate::detach::{self, InDev};
use crate::error::{Error, Kind, Result};
use crate::hooks::{Hooks, scrub_git_env};
use crate::lock::Lock;
use crate::signals::{self, Interrupts};
use crate::watch::{self, AT_MOST, Debounce, Filter, QUIET};

/// How long `stop` and `restore` let a watcher finish the sync it is in.
pub const GRACE: Duration = Duration::from_secs(30);

pub fn run(mut ctx: Context, args: &WatchArgs) -> Result<ExitCode> {
    let hooks = Hooks::of(&ctx.cwd)?;
    if args.in_background {
        return background(&ctx, &hooks, args);
    }
    if let Some(w) = watch::running(&hooks.state) {
        return Err(Error::user(format!(
            "this checkout is already watched (pid {}, {}{})",
            w.pid,
            crate::state::age(w.since),
            if w.background {
                ", in the background"
            } else {
                ", on a terminal"
            }
        ))
        .hint("`git osa stop` ends the watcher (and the dev units); `git osa logs --watch` shows a background one's syncs"));
    }
    let interrupts = Interrupts::watch();
    let started = ensure_session(&mut ctx, args, &hooks.root)?;
    let dev = detach::find(&ctx, args.container.as_deref())?;
    if args.detach {
        return detach(&ctx, &hooks, &dev);
    }
    let checkout = Following::start(&hooks, &dev)?;
    let held = watch::hold(&hooks.state, false)?;
    let services = dev.services();
    let logs = Logs::start(
        &dev.target,
        &dev.paths,
        journal_argv(&services, None, true),
        services.len() > 1,
    )?;
    ctx.ui.step(format!(
        "watching {} for {}: each save is synced; Ctrl-C stops watching{}",
        hooks.root.display(),
        dev.target.name,
        if started {
            " and puts production back"
        } else {
            " (the dev session goes on)"
        }
    ));
    let sig = watch_loop(&ctx, &hooks, checkout, &dev.target.name, interrupts)?;
    logs.stop();
    drop(held);
    if started {
        ctx.ui.step(format!(
            "stopped watching ({}); ending the dev session watch started in {}: production back",
            signals::name(sig),
            dev.target.name
        ));
        end_session(&ctx, &hooks, &dev)?;
    } else {
        ctx.ui.step(format!(
            "stopped watching ({}); the dev session in {} was there before and goes on: `git osa stop` ends its units, `git osa restore` puts production back",
            signals::name(sig),
            dev.target.name
        ));
    }
    Ok(ExitCode::from(128 + sig as u8))
}

/// Starts a detached dev session of this checkout, as `git osa run --detach` does, when
/// the container is in none. True when there was no dev session at all before.
fn ensure_session(ctx: &mut Context, args: &WatchArgs, root: &Path) -> Result<bool> {
    let started = match detach::find(ctx, args.container.as_deref()) {
        Ok(dev) => {
            let ours = dev
                .session
                .checkout
                .as_deref()
                .is_some_and(|c| same_dir(Path::new(c), root));
            if ours && dev.session.detached_at.is_some() && !dev.services().is_empty() {
                return Ok(false);
            }
            false
        }
        Err(e) if e.kind() == Kind::User => true,
        Err(e) => return Err(e),
    };
    ctx.settings.detach.value = true;
    if let Some(c) = &args.container {
        ctx.settings.container.value = Some(c.clone());
    }
    crate::commands::run::run(
        ctx,
        &RunArgs {
            container: args.container.clone(),
            detach: true,
            ..RunArgs::default()
        },
    )?;
    Ok(started)
}

/// Restores production in the target, under the container's lock and the hooks' (no
/// redeploy starts meanwhile).
fn end_session(ctx: &Context, hooks: &Hooks, dev: &InDev) -> Result<()> {
    let host_lock = open_lock(hooks)?;
    host_lock.lock()?;
    let _lock = Lock::acquire(&dev.target, &dev.paths, "watch")?;
    let Some(session) = crate::sessions::read(&dev.target, &dev.paths)? else {
        return Ok(());
    };
    crate::restore::restore_target(
        &ctx.ui,
        &ctx.haproxy,
        &dev.target,
        &dev.placement.host,
        &dev.placement.units,
        &dev.paths,
        session,
        false,
    )
}

/// Starts the background watcher in a session of its own (no terminal's hangup or Ctrl-C
/// reaches it), its output appended to the watch log, and returns once it watches.
fn detach(ctx: &Context, hooks: &Hooks, dev: &InDev) -> Result<ExitCode> {
    std::fs::create_dir_all(&hooks.state)?;
    let log_path = watch::log_file(&hooks.state);
    let log = crate::hooks::open_log(&log_path)?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["watch", "--in-background", "--container", &dev.target.name])
        .current_dir(&hooks.root)
        // The deployment as this command resolved it, whatever flags named it.
        .env("GIT_OSA_INVENTORY", &ctx.global.inventory)
        .env("GIT_OSA_HAPROXY_SOCKET", &ctx.global.haproxy_socket)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    if let Some(p) = &ctx.global.lxc_path {
        cmd.env("GIT_OSA_LXC_PATH", p);
    }
    if let Some(p) = &ctx.global.config {
        cmd.env("GIT_OSA_CONFIG", p);
    }
    scrub_git_env(&mut cmd);
    // SAFETY: setsid(2) is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .context("starting the watcher in the background")?;
    let start = Instant::now();
    loop {
        if watch::running(&hooks.state).is_some_and(|w| w.pid == child.id()) {
            break;
        }
        if let Some(status) = child.try_wait()? {
            let tail = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(Error::failed(format!(
                "the background watcher ended as it started ({status}):\n{}",
                tail.join("\n")
            )));
        }
        if start.elapsed() > Duration::from_secs(10) {
            return Err(Error::failed(format!(
                "the background watcher (pid {}) did not start watching within 10 s",
                child.id()
            ))
            .hint(format!("its log: {}", log_path.display())));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    ctx.ui.step(format!(
        "watching {} in the background (pid {}): each save is synced into {}; `git osa logs --watch` shows the syncs, `git osa logs -f` the units, `git osa stop` ends both",
        hooks.root.display(),
        child.id(),
        dev.target.name
    ));
    Ok(ExitCode::SUCCESS)
}

/// What `--detach` starts: watches until SIGTERM (`git osa stop`, `git osa restore`).
fn background(ctx: &Context, hooks: &Hooks, args: &WatchArgs) -> Result<ExitCode> {
    // Watching before the record says so: `watch --detach` returns once it does, and a
    // save right after must not be missed.
    let container = args
        .container
        .clone()
        .ok_or_else(|| Error::user("the background watcher needs --container"))?;
    let dev = detach::find(ctx, Some(&container))?;
    let checkout = Following::start(hooks, &dev)?;
    let held = watch::hold(&hooks.state, true)?;
    let interrupts = Interrupts::watch();
    println!(
        "--- watching {} for {container}, pid {}, at {} (unix time)",
        hooks.root.display(),
        std::process::id(),
        crate::state::now()
    );
    let sig = watch_loop(ctx, hooks, checkout, &container, interrupts)?;
    println!(
        "--- stopped watching ({}) at {} (unix time)",
        signals::name(sig),
        crate::state::now()
    );
    drop(held);
    Ok(ExitCode::SUCCESS)
}

fn open_lock(hooks: &Hooks) -> Result<File> {
    std::fs::create_dir_all(&hooks.state)?;
    Ok(OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(hooks.lock())?)
}

/// Ends the checkout's watcher, if one runs (`git osa stop`, `git osa restore`): before
/// the container's lock is taken, which the watcher's sync may hold.
pub fn end_watcher(ctx: &Context) -> Result<()> {
    end_watcher_of(ctx, &ctx.cwd)
}

/// Ends the watcher of the checkout at `root`, if one runs: `restore` ends that of each
/// session's checkout, wherever it runs from (`--all`, `--container`).
pub fn end_watcher_of(ctx: &Context, root: &Path) -> Result<()> {
    let Ok(hooks) = Hooks::of(root) else {
        return Ok(());
    };
    if let Some(w) = watch::end(&hooks.state, GRACE)? {
        ctx.ui.step(format!(
            "stopped watching {} (the watcher was pid {})",
            hooks.root.display(),
            w.pid
        ));
    }
    Ok(())
}

/// The checkout and the session's `--with` libraries, followed through inotify: what
/// changes comes on `events`.
struct Following {
    /// The libraries' first (named by their package), then the checkout's (unnamed).
    filters: Vec<(Option<String>, Filter)>,
    events: mpsc::Receiver<notify::Result<notify::Event>>,
    watcher: notify::RecommendedWatcher,
}

impl Following {
    fn start(hooks: &Hooks, dev: &InDev) -> Result<Following> {
        let mut filters = Vec::new();
        for lib in &dev.session.with {
            filters.push((
                Some(lib.package.clone()),
                Filter::open(Path::new(&lib.checkout))?,
            ));
        }
        filters.push((None, Filter::open(&hooks.root)?));
        let (tx, events) = mpsc::channel();
        let watcher = notify::recommended_watcher(move |ev| {
            let _ = tx.send(ev);
        })
        .context("starting to watch the checkout (inotify)")?;
        let mut following = Following {
            filters,
            events,
            watcher,
        };
        for i in 0..following.filters.len() {
            let root = following.filters[i].1.root().to_path_buf();
            following.follow(&root)?;
        }
        Ok(following)
    }

    /// Follows `dir` and the folders under it that matter (see `Filter::folders`): at the
    /// start, and for each folder made while watching.
    fn follow(&mut self, dir: &Path) -> Result<()> {
        let Some((_, filter)) = self.filters.iter().find(|(_, f)| dir.starts_with(f.root())) else {
            return Ok(());
        };
        for d in filter.folders(dir) {
            // One gone already has nothing in it to sync.
            if let Err(e) = self.watcher.watch(&d, RecursiveMode::NonRecursive)
                && d.exists()
            {
                return Err(anyhow::Error::new(e)
                    .context(format!("watching {}", d.display()))
                    .into());
            }
        }
        Ok(())
    }

    /// What a change to `path` is, when it may change what a sync sends: the path in the
    /// checkout, or `<package>: <path>` in a library's.
    fn relevant(&self, path: &Path) -> Option<String> {
        let (name, filter) = self
            .filters
            .iter()
            .find(|(_, f)| path.starts_with(f.root()))?;
        let rel = filter.relevant(path)?;
        Some(match name {
            Some(package) => format!("{package}: {rel}"),
            None => rel,
        })
    }
}

/// Syncs each burst of changes until a signal; returns the signal.
fn watch_loop(
    ctx: &Context,
    hooks: &Hooks,
    mut checkout: Following,
    container: &str,
    interrupts: &Interrupts,
) -> Result<i32> {
    let lock = open_lock(hooks)?;
    let mut burst = Debounce::new(QUIET, AT_MOST);
    let mut n = 0;
    loop {
        if let Some(sig) = interrupts.take() {
            return Ok(sig);
        }
        let wait = burst
            .wait(Instant::now())
            .unwrap_or(Duration::MAX)
            .min(Duration::from_millis(100));
        match checkout.events.recv_timeout(wait) {
            Ok(Ok(event)) => {
                if !matches!(event.kind, EventKind::Access(_)) {
                    let now = Instant::now();
                    for p in event.paths {
                        if let Some(rel) = checkout.relevant(&p) {
                            burst.add(rel, now);
                            // A folder made (or moved in) while watching: followed too.
                            if matches!(
                                event.kind,
                                EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(_))
                            ) && p.is_dir()
                            {
                                checkout.follow(&p)?;
                            }
                        }
                    }
                }
            }
            Ok(Err(e)) => ctx.ui.warn(format!("watching the checkout: {e}")),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(anyhow::anyhow!("the checkout's watcher (inotify) stopped").into());
            }
        }
        if let Some(paths) = burst.take(Instant::now()) {
            n += 1;
            sync_once(ctx, &lock, container, n, &watch::describe(&paths))?;
        } else if hooks.pending().exists() {
            lock.lock()?;
            let wanted = std::fs::remove_file(hooks.pending()).is_ok();
            lock.unlock()?;
            if wanted {
                n += 1;
                sync_once(ctx, &lock, container, n, "a git hook's redeploy")?;
            }
        }
    }
}

/// One sync, as `git osa sync` runs it, said in one line; a failure is said and watching
/// goes on.
fn sync_once(ctx: &Context, lock: &File, container: &str, n: u32, what: &str) -> Result<()> {
    // Waits for a hook's redeploy to finish: never two cycles at once.
    lock.lock()?;
    let start = Instant::now();
    let result = crate::commands::sync::run(
        ctx,
        &SyncArgs {
            container: Some(container.to_string()),
            dry_run: false,
            allow_public_index: None,
        },
    );
    lock.unlock()?;
    let took = start.elapsed().as_secs_f64();
    match result {
        Ok(_) => println!("watch: sync {n}: {what}: ok in {took:.2} s"),
        Err(e) => {
            println!(
                "watch: sync {n}: {what}: failed in {took:.2} s: {}",
                e.to_string().lines().next().unwrap_or_default()
            );
            ctx.ui.error(&e.to_string(), e.hints());
        }
    }
    Ok(())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
