//! The service's configuration as a new session finds it, noted before anything changes
//! it (`devconf`): `git osa conf diff` and `status` compare with it, restore puts it back.

use super::Cycle;
use crate::plan::Step;

impl Cycle<'_> {
    /// Notes the configuration folder and the units' uWSGI inis, once a session.
    pub(super) fn note_conf(&self) -> Option<Step> {
        if self.session.conf.is_some() {
            return None;
        }
        let units: Vec<_> = self
            .s
            .units
            .iter()
            .filter_map(|u| self.s.probe.unit(&u.name).map(|i| (u.runs, i)))
            .collect();
        let roots = crate::devconf::roots(&self.s.service, &units);
        if roots.is_empty() {
            return None;
        }
        Some(crate::devconf::note_step(
            self.target(),
            &self.paths,
            &roots,
        ))
    }
}
