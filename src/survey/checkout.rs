//! The checkouts a run deploys, read on the host: the service's and the `--with`
//! libraries' files (what git tracks and what it does not ignore), their install inputs
//! and pbr version, and the migrations to compare with production's, read in the
//! container.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::context::Project;
use crate::error::{Error, Result};
use crate::install;
use crate::pbr;
use crate::sync::{self, Manifest, Tree};
use crate::transport::Target;

/// A library checkout installed `--with` the service.
#[derive(Debug, Clone, Default)]
pub struct Library {
    /// Its package name (setup.cfg, pyproject.toml): its folder in the container, and
    /// the constraint its install drops.
    pub package: String,
    pub checkout: CheckoutScan,
    /// What the container received at its last sync.
    pub manifest: Manifest,
}

/// The checkout as the run sees it.
#[derive(Debug, Clone, Default)]
pub struct CheckoutScan {
    pub root: PathBuf,
    pub tree: Tree,
    pub pbr_version: Option<String>,
    /// The files whose change means the install must run again, with their contents.
    pub install_inputs: Vec<(String, Vec<u8>)>,
    /// The checkout's `.py` files under the service's migration folders.
    pub migrations: BTreeMap<String, Vec<u8>>,
}

/// The `--with` checkouts, each with its package name and files. Each must be a checkout
/// with a package name of its own, not the service's, and named once.
pub fn libraries(project: &Project, paths: &[PathBuf]) -> Result<Vec<(String, CheckoutScan)>> {
    let mut out: Vec<(String, CheckoutScan)> = Vec::new();
    for path in paths {
        let checkout = crate::project::Checkout::discover(path).map_err(|e| {
            Error::user(format!(
                "--with {}: {e}; nothing was changed",
                path.display()
            ))
        })?;
        let itself = || {
            Error::user(format!(
                "--with {}: that is {}, the service itself; nothing was changed",
                path.display(),
                project.service.name
            ))
            .hint("--with names another checkout: a library the service uses")
        };
        if checkout.root == project.checkout.root {
            return Err(itself());
        }
        let Some(package) = checkout.identify().package else {
            return Err(Error::user(format!(
                "--with {}: no package name in its setup.cfg or pyproject.toml, so git-osa cannot install it; nothing was changed",
                path.display()
            )));
        };
        let own = crate::catalog::normalize_package(&package);
        if !package
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(Error::user(format!(
                "--with {}: {package:?} is not a Python package name; nothing was changed",
                path.display()
            )));
        }
        let is_service = project
            .service
            .packages
            .iter()
            .chain(project.id.package.iter())
            .any(|p| crate::catalog::normalize_package(p) == own);
        if is_service {
            return Err(itself());
        }
        if out
            .iter()
            .any(|(p, _)| crate::catalog::normalize_package(p) == own)
        {
            return Err(Error::user(format!(
                "--with names {package} twice; nothing was changed"
            )));
        }
        let scan = scan_tree(&checkout, |_| false)?;
        out.push((package, scan));
    }
    Ok(out)
}

/// The checkout's scan with the contents of its migrations, read only when there are
/// production's to compare them with.
pub(super) fn with_migrations(
    mut scan: CheckoutScan,
    project: &Project,
    read: bool,
) -> CheckoutScan {
    scan.migrations = read_files(&scan.root, &scan.tree, |p| {
        read && p.ends_with(".py") && project.service.is_migration(p)
    });
    scan
}

/// A checkout's files, its install inputs and pbr version, and the contents of the files
/// `migration` picks.
pub(super) fn scan_tree(
    checkout: &crate::project::Checkout,
    migration: impl Fn(&str) -> bool,
) -> Result<CheckoutScan> {
    let root = checkout.root.clone();
    let tree = sync::scan(checkout)?;
    let install_inputs = install::INSTALL_INPUTS
        .iter()
        .map(|f| {
            (
                f.to_string(),
                std::fs::read(root.join(f)).unwrap_or_default(),
            )
        })
        .collect();
    let migrations = read_files(&root, &tree, migration);
    Ok(CheckoutScan {
        pbr_version: pbr::version(&checkout.repo),
        root,
        tree,
        install_inputs,
        migrations,
    })
}

/// The contents of the tree's files that `pick` picks.
fn read_files(
    root: &std::path::Path,
    tree: &sync::Tree,
    pick: impl Fn(&str) -> bool,
) -> BTreeMap<String, Vec<u8>> {
    tree.files
        .keys()
        .filter(|p| pick(p))
        .filter_map(|p| Some((p.clone(), std::fs::read(root.join(p)).ok()?)))
        .collect()
}

/// The `.py` files under the migration folders of the installed (production) code.
pub(super) fn production_migrations(
    target: &Target,
    site: &str,
    dirs: &[String],
) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut args = vec![site];
    args.extend(dirs.iter().map(|d| d.trim_end_matches('/')));
    let argv = crate::exec::sh(
        r#"cd "$1" && shift && for d; do [ -d "$d" ] && printf '%s\0' "$d"; done | xargs -0r tar -cf -"#,
        "git-osa-migrations",
        &args,
    );
    let out = target.run(&argv, None)?;
    let mut files = BTreeMap::new();
    let mut archive = tar::Archive::new(out.stdout.as_slice());
    for entry in archive.entries().map_err(anyhow::Error::from)? {
        let mut entry = entry.map_err(anyhow::Error::from)?;
        let path = entry
            .path()
            .map_err(anyhow::Error::from)?
            .to_string_lossy()
            .into_owned();
        if entry.header().entry_type().is_file() && path.ends_with(".py") {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data)?;
            files.insert(path.trim_start_matches("./").to_string(), data);
        }
    }
    Ok(files)
}
