//! Following the checkout (and the session's `--with` libraries) through inotify, and
//! syncing each burst of changes.

use std::fs::File;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use notify::event::ModifyKind;
use notify::{EventKind, RecursiveMode, Watcher as _};

use super::{AT_MOST, BEAT, Debounce, Filter, Held, QUIET, describe, open_lock};
use crate::context::Context;
use crate::error::Result;
use crate::hooks::Hooks;
use crate::output;
use crate::redeploy::{self, Sync};
use crate::session::InDev;
use crate::signals::Interrupts;

/// The checkout and the session's `--with` libraries, followed through inotify: what
/// changes comes on `events`.
pub(super) struct Following {
    /// The libraries' first (named by their package), then the checkout's (unnamed).
    filters: Vec<(Option<String>, Filter)>,
    events: mpsc::Receiver<notify::Result<notify::Event>>,
    watcher: notify::RecommendedWatcher,
}

impl Following {
    pub(super) fn start(hooks: &Hooks, dev: &InDev) -> Result<Following> {
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
pub(super) fn watch_loop(
    ctx: &Context,
    hooks: &Hooks,
    mut checkout: Following,
    container: &str,
    interrupts: &Interrupts,
    held: &Held,
) -> Result<i32> {
    let lock = open_lock(hooks)?;
    let mut burst = Debounce::new(QUIET, AT_MOST);
    let mut n = 0;
    let mut beat = Instant::now();
    loop {
        if let Some(sig) = interrupts.take() {
            return Ok(sig);
        }
        if beat.elapsed() >= BEAT {
            held.beat();
            beat = Instant::now();
        }
        let wait = burst
            .wait(Instant::now())
            .unwrap_or(Duration::MAX)
            .min(Duration::from_millis(100));
        match checkout.events.recv_timeout(wait) {
            Ok(Ok(event)) => {
                if !matches!(event.kind, EventKind::Access(_)) {
                    let now = Instant::now();
                    let made = matches!(event.kind, EventKind::Create(_));
                    for p in event.paths {
                        if let Some(rel) = checkout.relevant(&p) {
                            burst.add(rel, made.then(|| p.clone()), now);
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
        if let Some(paths) = burst.take(Instant::now(), |p| p.symlink_metadata().is_ok()) {
            // A burst that only made files and removed them again changed nothing.
            if !paths.is_empty() {
                n += 1;
                sync_once(ctx, &lock, container, n, &describe(&paths))?;
            }
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
    let result = redeploy::sync(
        ctx,
        &Sync {
            container: Some(container.to_string()),
            ..Sync::default()
        },
    );
    lock.unlock()?;
    let took = start.elapsed().as_secs_f64();
    match result {
        Ok(_) => output::line(format!("watch: sync {n}: {what}: ok in {took:.2} s"))?,
        Err(e) => {
            output::line(format!(
                "watch: sync {n}: {what}: failed in {took:.2} s: {}",
                e.to_string().lines().next().unwrap_or_default()
            ))?;
            ctx.ui.error(&e.to_string(), e.hints());
        }
    }
    Ok(())
}
