//! Choosing the target: which of the service's containers (`--container`, a prompt on a
//! terminal, or an error naming the choices), and which of its units (`--service`).

use crate::catalog::{Service, Unit};
use crate::context::Placement;
use crate::error::{Error, Result};
use crate::lxc::{Lxc, LxcState};
use crate::ui::Ui;

/// The placement `want` names (by container or inventory name); the one refusal of a
/// name that is not among them.
pub fn named<'a>(
    service: &Service,
    placements: &'a [Placement],
    want: &str,
) -> Result<&'a Placement> {
    placements
        .iter()
        .find(|p| p.host.container_name == want || p.host.inventory_name == want)
        .ok_or_else(|| {
            let names: Vec<&str> = placements
                .iter()
                .map(|p| p.host.container_name.as_str())
                .collect();
            Error::user(format!(
                "{want} is not one of {}'s containers: {}",
                service.name,
                names.join(", ")
            ))
            .hint("pick one with --container NAME (see `git osa status`)")
        })
}

pub fn choose(
    ui: &Ui,
    service: &Service,
    placements: &[Placement],
    container: Option<&str>,
) -> Result<Placement> {
    if let Some(want) = container {
        return named(service, placements, want).cloned();
    }
    let names: Vec<&str> = placements
        .iter()
        .map(|p| p.host.container_name.as_str())
        .collect();
    if placements.len() == 1 {
        return Ok(placements[0].clone());
    }
    if ui.interactive {
        return match ui.select("Which container should run your checkout?", &names) {
            Some(i) => Ok(placements[i].clone()),
            None => Err(Error::user("no container chosen: nothing was changed")),
        };
    }
    Err(Error::user(format!(
        "the service runs in {} containers: {}",
        placements.len(),
        names.join(", ")
    ))
    .hint(format!(
        "pick one with --container NAME, e.g. `git osa --container {}`",
        names[0]
    )))
}

/// The units to swap: all of the placement's, or those `wanted` names.
pub fn units(p: &Placement, wanted: &[String]) -> Result<Vec<Unit>> {
    if wanted.is_empty() {
        return Ok(p.units.clone());
    }
    let mut out = Vec::new();
    for w in wanted {
        let w = w.trim_end_matches(".service");
        match p.units.iter().find(|u| u.name == w) {
            Some(u) => out.push(u.clone()),
            None => {
                let names: Vec<&str> = p.units.iter().map(|u| u.name.as_str()).collect();
                return Err(Error::user(format!(
                    "{w} is not a unit of this service in {}: {}",
                    p.host.container_name,
                    names.join(", ")
                )));
            }
        }
    }
    Ok(out)
}

/// Fails, changing nothing, unless the placement's container runs.
pub fn running(lxc: &Lxc, p: &Placement) -> Result<()> {
    if p.host.metal {
        return Ok(());
    }
    let name = &p.host.container_name;
    match lxc.state(name)? {
        LxcState::Running => Ok(()),
        st => Err(
            Error::user(format!("container {name} is {st}: nothing was changed"))
                .hint(st.remedy(name, lxc.path.as_deref())),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::inventory::Host;

    fn heat_placement() -> Placement {
        Placement {
            host: Host {
                inventory_name: "aio1-heat-api-container-36e270c9".into(),
                container_name: "aio1-heat-api-container-36e270c9".into(),
                physical_host: Some("aio1".into()),
                address: None,
                metal: false,
            },
            units: Catalog::builtin().by_name("heat").unwrap().units.clone(),
            groups: None,
        }
    }

    #[test]
    fn service_narrows_the_units_and_unknown_ones_are_named() {
        let p = heat_placement();
        let all = units(&p, &[]).unwrap();
        assert_eq!(all.len(), 3);
        let engine = units(&p, &["heat-engine.service".into()]).unwrap();
        assert_eq!(
            engine.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
            ["heat-engine"]
        );
        let err = units(&p, &["nova-api".into()]).unwrap_err().to_string();
        assert!(err.contains("nova-api is not a unit of this service in aio1-heat-api-container-36e270c9: heat-api, heat-api-cfn, heat-engine"), "{err}");
    }

    #[test]
    fn a_container_not_of_the_service_is_a_user_error_naming_the_choices() {
        let ui = Ui::plain();
        let heat = Catalog::builtin().by_name("heat").unwrap().clone();
        let err = choose(&ui, &heat, &[heat_placement()], Some("nosuch")).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert_eq!(
            err.to_string(),
            "nosuch is not one of heat's containers: aio1-heat-api-container-36e270c9"
        );
    }
}
