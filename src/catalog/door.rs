//! Checks at the door: the POS ids an `item_mapping` change points at, against the POS catalog,
//! and a Square `location_id`, against the account's locations. A refusal is a 400 naming the
//! field; when the POS cannot be asked, the value is saved as given and the caller is told why it
//! was not checked. The decisions are pure; [`check_mapping`] and [`check_location`] do the
//! reading and block (call them on a blocking thread, never inside a write transaction).

use std::collections::{BTreeMap, HashSet};

use super::{Catalogs, Served};
use crate::domain::Currency;
use crate::providers::catalog::{CatalogItem, Location};
use crate::store::{Integration, IntegrationPatch, NewIntegration};
use crate::{Error, Result};

/// What a check found, when it did not refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// Checked against the POS (or nothing needed checking).
    Yes,
    /// Saved without a check: why the POS could not be asked.
    Not(String),
}

/// The entries of `wanted` that are new or point elsewhere than in `current`: only these are
/// checked, so an entry the seller leaves alone never blocks an unrelated change (the mapping
/// view shows it as `missing` when the POS dropped its item).
pub fn changed_entries<'a>(
    current: &BTreeMap<String, String>,
    wanted: &'a BTreeMap<String, String>,
) -> Vec<(&'a str, &'a str)> {
    wanted
        .iter()
        .filter(|(dish, item)| current.get(*dish) != Some(*item))
        .map(|(dish, item)| (dish.as_str(), item.as_str()))
        .collect()
}

/// The first entry whose POS id the catalog does not have.
pub fn first_unknown<'a>(
    entries: &[(&'a str, &'a str)],
    catalog: &[CatalogItem],
) -> Option<(&'a str, &'a str)> {
    let known: HashSet<&str> = catalog.iter().map(|i| i.pos_item_id.as_str()).collect();
    entries
        .iter()
        .find(|(_, item)| !known.contains(item))
        .copied()
}

/// Why `location_id` is refused by these locations (unknown or not active), listing the active
/// ones; `None` when it is an active location.
pub fn location_refusal(locations: &[Location], location_id: &str) -> Option<String> {
    let found = locations.iter().find(|l| l.id == location_id);
    if found.is_some_and(|l| l.active) {
        return None;
    }
    let active: Vec<String> = locations
        .iter()
        .filter(|l| l.active)
        .map(|l| format!("{} ({})", l.id, l.name))
        .collect();
    let what = if found.is_some() {
        "is not active"
    } else {
        "is not a location of this Square account"
    };
    let choice = if active.is_empty() {
        "the account has no active location".to_string()
    } else {
        format!("active locations: {}", active.join(", "))
    };
    Some(format!("{location_id} {what}; {choice}"))
}

/// Check the entries of `wanted` that change `integration`'s mapping against its POS catalog.
/// A cached catalog that lacks an id is read again from the POS first (the seller may have just
/// added the item there). An id the catalog does not have is a validation error naming
/// `item_mapping.<dish_id>`; a catalog that cannot be read (Dine, an inactive integration, the
/// POS down) leaves the mapping unchecked, with the reason.
pub fn check_mapping(
    catalogs: &Catalogs<'_>,
    integration: &Integration,
    currency: Currency,
    wanted: &BTreeMap<String, String>,
) -> Result<Checked> {
    let entries = changed_entries(&integration.item_mapping, wanted);
    if entries.is_empty() {
        return Ok(Checked::Yes);
    }
    let mut served = match readable(catalogs.read(integration, currency, false))? {
        Ok(served) => served,
        Err(why) => return Ok(Checked::Not(why)),
    };
    if first_unknown(&entries, &served.catalog.items).is_some() && !served.read_now {
        served = match readable(catalogs.read(integration, currency, true))? {
            Ok(served) => served,
            Err(why) => return Ok(Checked::Not(why)),
        };
    }
    match first_unknown(&entries, &served.catalog.items) {
        None => Ok(Checked::Yes),
        // The POS could not be read: the entry may be newer than the cache.
        Some(_) if served.stale_because.is_some() => Ok(Checked::Not(format!(
            "the {} catalog could not be read: {}",
            integration.provider.display_name(),
            served.stale_because.unwrap_or_default()
        ))),
        Some((dish, item)) => Err(Error::invalid(
            &format!("item_mapping.{dish}"),
            format!(
                "{item} is not in the {} catalog (see GET /api/v1/pos/catalog/{})",
                integration.provider.display_name(),
                integration.business_id
            ),
        )),
    }
}

/// A catalog read, or why there is none to check against (errors other than "no catalog" and
/// "the POS failed" are the caller's).
fn readable(read: Result<Served>) -> Result<std::result::Result<Served, String>> {
    match read {
        Ok(served) => Ok(Ok(served)),
        Err(Error::Conflict(why) | Error::Upstream(why)) => Ok(Err(why)),
        Err(other) => Err(other),
    }
}

/// Check `location_id` against the POS's locations as read (`None`: the POS has no such list).
/// An unknown or inactive location is a validation error naming `location_id`; locations that
/// cannot be read leave it unchecked, with the reason.
pub fn check_location(
    locations: Option<std::result::Result<Vec<Location>, String>>,
    location_id: &str,
) -> Result<Checked> {
    match locations {
        None => Ok(Checked::Yes),
        Some(Err(why)) => Ok(Checked::Not(format!(
            "Square's locations could not be read: {why}"
        ))),
        Some(Ok(locations)) => match location_refusal(&locations, location_id) {
            None => Ok(Checked::Yes),
            Some(why) => Err(Error::invalid("location_id", why)),
        },
    }
}

/// The door checks of a settings change (its mapping, its location): what was saved unchecked,
/// in words for the seller, or the refusal.
pub fn check_patch(
    catalogs: &Catalogs<'_>,
    integration: &Integration,
    currency: Currency,
    patch: &IntegrationPatch,
) -> Result<Vec<String>> {
    let mut unchecked = Vec::new();
    if let Some(location_id) = &patch.location_id
        && let Checked::Not(why) = check_location(catalogs.locations_of(integration), location_id)?
    {
        unchecked.push(format!("location_id was saved without a check ({why})"));
    }
    if let Some(wanted) = &patch.item_mapping
        && let Checked::Not(why) = check_mapping(catalogs, integration, currency, wanted)?
    {
        unchecked.push(format!(
            "item_mapping was saved without a check against the POS catalog ({why})"
        ));
    }
    Ok(unchecked)
}

/// The door check of a connect request: its location against the POS's locations, read with
/// the token being connected.
pub fn check_connect(catalogs: &Catalogs<'_>, new: &NewIntegration) -> Result<Checked> {
    match &new.location_id {
        Some(location_id) => check_location(
            catalogs.locations(new.provider, &new.access_token),
            location_id,
        ),
        None => Ok(Checked::Yes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(id: &str, name: &str, active: bool) -> Location {
        Location {
            id: id.into(),
            name: name.into(),
            active,
        }
    }

    fn item(id: &str) -> CatalogItem {
        CatalogItem {
            pos_item_id: id.into(),
            name: "Lassi".into(),
            variation_name: None,
            price: Some(8000),
            currency: Some("INR".into()),
            sku: None,
        }
    }

    #[test]
    fn locations_refused_unless_active_and_known() {
        let all = [
            location("L1", "MG Road", true),
            location("L2", "Old Town", false),
            location("L3", "Airport", true),
        ];
        let cases: [(&[Location], &str, Option<&str>); 4] = [
            (&all, "L1", None),
            (
                &all,
                "L2",
                Some("L2 is not active; active locations: L1 (MG Road), L3 (Airport)"),
            ),
            (
                &all,
                "LX",
                Some(
                    "LX is not a location of this Square account; active locations: L1 (MG Road), L3 (Airport)",
                ),
            ),
            (
                &all[1..2],
                "L2",
                Some("L2 is not active; the account has no active location"),
            ),
        ];
        for (locations, id, want) in cases {
            assert_eq!(location_refusal(locations, id).as_deref(), want, "{id}");
        }
    }

    #[test]
    fn unreadable_locations_leave_the_id_unchecked() {
        assert_eq!(
            check_location(Some(Err("HTTP 503".into())), "L1").unwrap(),
            Checked::Not("Square's locations could not be read: HTTP 503".into())
        );
        assert_eq!(check_location(None, "L1").unwrap(), Checked::Yes);
        let refused = check_location(Some(Ok(vec![])), "L1").unwrap_err();
        assert!(refused.to_string().contains("location_id"), "{refused}");
    }

    #[test]
    fn only_changed_entries_are_checked_and_the_first_unknown_is_named() {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(d, i)| (d.to_string(), i.to_string()))
                .collect()
        };
        let current = map(&[("d1", "GONE"), ("d2", "V2")]);
        let wanted = map(&[("d1", "GONE"), ("d2", "V2b"), ("d3", "V3")]);
        let changed = changed_entries(&current, &wanted);
        assert_eq!(changed, [("d2", "V2b"), ("d3", "V3")]);
        assert_eq!(changed_entries(&current, &current), []);
        let catalog = [item("V2b"), item("V3")];
        assert_eq!(first_unknown(&changed, &catalog), None);
        assert_eq!(first_unknown(&changed, &catalog[..1]), Some(("d3", "V3")));
        assert_eq!(first_unknown(&changed, &[]), Some(("d2", "V2b")));
    }
}
