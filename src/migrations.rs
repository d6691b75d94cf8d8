//! When a db sync is needed: the checkout's migration files against those of the code
//! production runs (equal means the schema is already at their head), and a fingerprint
//! of them against the one recorded at the session's last db sync.

use std::collections::BTreeMap;

use crate::catalog::Service;
use crate::sync::{self, Tree};

/// The checkout's migrations are exactly production's: its schema is already at their head.
pub fn same(production: &BTreeMap<String, Vec<u8>>, checkout: &BTreeMap<String, Vec<u8>>) -> bool {
    !production.is_empty() && production == checkout
}

/// What identifies a set of migration files by their paths and contents: production's,
/// recorded once in the session, against the checkout's at each sync. None for no files
/// (which are never "the same", as in [`same`]).
pub fn digest(files: &BTreeMap<String, Vec<u8>>) -> Option<String> {
    if files.is_empty() {
        return None;
    }
    let parts: Vec<&[u8]> = files
        .iter()
        .flat_map(|(p, c)| [p.as_bytes(), c.as_slice()])
        .collect();
    Some(sync::fingerprint(&parts))
}

/// What identifies the checkout's migrations (paths, sizes, times) without reading them.
pub fn fingerprint(service: &Service, tree: &Tree) -> String {
    let parts: Vec<Vec<u8>> = tree
        .files
        .iter()
        .filter(|(p, _)| service.is_migration(p))
        .flat_map(|(p, m)| {
            [
                p.as_bytes().to_vec(),
                format!("{}:{}", m.size, m.mtime_ns).into_bytes(),
            ]
        })
        .collect();
    let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    sync::fingerprint(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_match_only_when_every_file_is_the_same() {
        let m = |files: &[(&str, &str)]| -> BTreeMap<String, Vec<u8>> {
            files
                .iter()
                .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
                .collect()
        };
        let prod = m(&[
            ("k/migrations/versions/a.py", "a"),
            ("k/migrations/env.py", "e"),
        ]);
        assert!(same(&prod, &prod.clone()));
        assert_eq!(digest(&prod), digest(&prod.clone()));
        assert!(digest(&prod).is_some());
        assert_eq!(
            digest(&BTreeMap::new()),
            None,
            "no files are never the same"
        );
        let edited = m(&[
            ("k/migrations/versions/a.py", "a"),
            ("k/migrations/env.py", "E"),
        ]);
        assert_ne!(digest(&prod), digest(&edited));
        let moved = m(&[
            ("k/migrations/versions/a.py", "ae"),
            ("k/migrations/env.py", ""),
        ]);
        assert_ne!(
            digest(&prod),
            digest(&moved),
            "bytes moved between files differ"
        );
        assert!(!same(&prod, &m(&[("k/migrations/versions/a.py", "a")])));
        assert!(!same(
            &prod,
            &m(&[
                ("k/migrations/versions/a.py", "a"),
                ("k/migrations/env.py", "E")
            ])
        ));
        assert!(
            !same(&BTreeMap::new(), &BTreeMap::new()),
            "nothing to compare proves nothing"
        );
    }
}
