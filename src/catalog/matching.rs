//! Matching a dish to a POS catalog entry by name (providers/README.md §F7): names are
//! normalised (Unicode lower case, punctuation and symbols gone, whitespace collapsed), an
//! exact normalised match scores 1.0, anything else a Jaro-Winkler similarity below 1, and
//! nothing under [`MIN_SCORE`] is suggested.

use unicode_general_category::{GeneralCategory as G, get_general_category};

use crate::store::catalog::CatalogItem;

/// The lowest score that is suggested.
pub const MIN_SCORE: f64 = 0.8;

/// A name as compared: lower case (`ß` as `ss`, final sigma as sigma), apostrophes dropped
/// (`Chef's` = `Chefs`), other punctuation and symbols as spaces (`Tikka-Masala` =
/// `Tikka Masala`), invisible format characters (zero-width joiners) dropped, whitespace
/// collapsed. Letters, digits and combining marks (Devanagari vowel signs, virama) stay.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        match c {
            '\'' | '’' | '‘' | 'ʼ' | '`' | '´' => {}
            'ß' => out.push_str("ss"),
            c if c.is_whitespace() => out.push(' '),
            'ς' => out.push('σ'),
            c => match get_general_category(c) {
                G::Format | G::Control => {}
                G::ConnectorPunctuation
                | G::DashPunctuation
                | G::OpenPunctuation
                | G::ClosePunctuation
                | G::InitialPunctuation
                | G::FinalPunctuation
                | G::OtherPunctuation
                | G::MathSymbol
                | G::CurrencySymbol
                | G::ModifierSymbol
                | G::OtherSymbol
                | G::SpaceSeparator
                | G::LineSeparator
                | G::ParagraphSeparator => out.push(' '),
                _ => out.push(c),
            },
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// How well two normalised names match: 1.0 when equal, else a similarity in [0, 1), rounded
/// to three places.
pub fn similarity(a: &str, b: &str) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    let score = (strsim::jaro_winkler(a, b) * 1000.0).round() / 1000.0;
    score.min(0.999)
}

/// The names a catalog entry answers to: `"<item> (<variation>)"` and `"<item>"`, normalised.
fn names(entry: &CatalogItem) -> Vec<String> {
    let mut names = vec![normalise(&entry.name)];
    if let Some(variation) = entry.variation_name.as_deref().filter(|v| !v.is_empty()) {
        names.insert(0, normalise(&format!("{} ({variation})", entry.name)));
    }
    names
}

/// How well a dish name matches a catalog entry: the best of its names.
pub fn score(dish_name: &str, entry: &CatalogItem) -> f64 {
    let dish = normalise(dish_name);
    names(entry)
        .iter()
        .map(|n| similarity(&dish, n))
        .fold(0.0, f64::max)
}

/// The best entry for a dish (the first of equals) and its score, when it scores at least
/// [`MIN_SCORE`].
pub fn best<'a>(dish_name: &str, catalog: &'a [CatalogItem]) -> Option<(&'a CatalogItem, f64)> {
    let mut best: Option<(&CatalogItem, f64)> = None;
    for entry in catalog {
        let s = score(dish_name, entry);
        if s >= MIN_SCORE && best.is_none_or(|(_, b)| s > b) {
            best = Some((entry, s));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, name: &str, variation: Option<&str>) -> CatalogItem {
        CatalogItem {
            pos_item_id: id.into(),
            name: name.into(),
            variation_name: variation.map(str::to_string),
            price: None,
            currency: None,
            sku: None,
        }
    }

    #[test]
    fn names_are_normalised() {
        for (raw, want) in [
            ("  Paneer   Tikka ", "paneer tikka"),
            ("PANEER TIKKA", "paneer tikka"),
            ("Chef's Special", "chefs special"),
            ("Chef’s Special", "chefs special"),
            ("Tikka-Masala", "tikka masala"),
            ("Dal (Makhani)", "dal makhani"),
            ("Chai & Samosa!!", "chai samosa"),
            ("Rs. 99 Thali", "rs 99 thali"),
            ("₹99 Combo", "99 combo"),
            ("Straße", "strasse"),
            ("ΟΔΟΣ", "οδοσ"),
            ("Crème Brûlée", "crème brûlée"),
            ("Tab\tand\nnewline", "tab and newline"),
            // Devanagari: vowel signs and the virama are kept; the danda is punctuation.
            ("पनीर टिक्का", "पनीर टिक्का"),
            ("दाल मखनी।", "दाल मखनी"),
            // A zero-width joiner changes how a conjunct is drawn, not the name.
            ("टिक\u{200d}्का", "टिक्का"),
            ("Paneer\u{00a0}Tikka", "paneer tikka"),
            ("!!!", ""),
        ] {
            assert_eq!(normalise(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn dishes_score_against_catalog_entries() {
        let tikka = entry("V1", "Paneer Tikka", None);
        let half = entry("V2", "Paneer Tikka", Some("Half"));
        let naan = entry("V3", "Butter Naan", None);
        let hindi = entry("V4", "पनीर टिक्का", None);
        let regular = entry("V5", "Masala Dosa", Some("Regular"));
        for (dish, entry, want) in [
            // Exact after normalising: 1.0, whatever case, spacing or punctuation.
            ("Paneer Tikka", &tikka, 1.0),
            ("paneer-tikka", &tikka, 1.0),
            ("  PANEER TIKKA!", &tikka, 1.0),
            // A variation answers to "<item> (<variation>)" and to "<item>".
            ("Paneer Tikka (Half)", &half, 1.0),
            ("Paneer Tikka Half", &half, 1.0),
            ("Paneer Tikka", &half, 1.0),
            ("Masala Dosa", &regular, 1.0),
            ("पनीर  टिक्का", &hindi, 1.0),
            // Near misses score below 1 and at least the threshold.
            ("Paneer Tika", &tikka, 0.983),
            ("Butter Nan", &naan, 0.982),
            ("Panir Tikka", &tikka, 0.893),
            ("पनीर टिका", &hindi, 0.964),
            // Different dishes stay under the threshold.
            ("Garlic Naan", &naan, 0.697),
            ("Dal Makhani", &tikka, 0.557),
            // No transliteration: a Latin name does not match a Devanagari one.
            ("Paneer Tikka", &hindi, 0.391),
            ("!!!", &tikka, 0.0),
        ] {
            let got = score(dish, entry);
            assert!(
                (got - want).abs() < 1e-9,
                "{dish:?} vs {:?}: {got}",
                entry.name
            );
            assert!(got == 1.0 || got < 1.0 && normalise(dish) != normalise(&entry.name));
        }
    }

    #[test]
    fn the_best_entry_is_suggested_and_weak_ones_are_not() {
        let catalog = [
            entry("V1", "Butter Naan", None),
            entry("V2", "Garlic Naan", None),
            entry("V3", "Garlic Naan", Some("Large")),
        ];
        let id = |dish| best(dish, &catalog).map(|(e, s)| (e.pos_item_id.as_str(), s));
        assert_eq!(id("Garlic Naan"), Some(("V2", 1.0)), "the first of equals");
        assert_eq!(id("Garlic Naan (Large)"), Some(("V3", 1.0)));
        assert_eq!(id("Butter Nan"), Some(("V1", 0.982)));
        assert_eq!(id("Chole Bhature"), None);
        assert_eq!(best("Anything", &[]).map(|(_, s)| s), None);
    }
}
