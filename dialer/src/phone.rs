//! Phone numbers: normalisation to E.164 and the time zones a number's country may be in.
//!
//! [`normalize`] turns what people type into spreadsheets ("06 12 34 56 78", "+33 6 12…",
//! "0033 6…", "(212) 555-0100") into one E.164 string, and rejects whatever libphonenumber's
//! metadata does not call a valid number. It runs once per imported row, so it does one cheap
//! character scan before handing a compact string to the parser.
//!
//! [`zones_for_region`] answers "where might this number ring?" for the compliance windows.

use chrono_tz::Tz;
use phonenumber::country::Id;
use phonenumber::{PhoneNumber, metadata::DATABASE};

/// Longest raw input accepted, in bytes; anything longer is not a phone number.
const MAX_RAW_LEN: usize = 64;

/// A phone number in E.164 form with the country it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The number as `+` and up to 15 digits, e.g. `+33612345678`.
    pub e164: String,
    /// The ISO 3166 alpha-2 country of the number (`"FR"`, `"GP"`, `"US"`), `None` for
    /// non-geographic numbers such as +800.
    pub region: Option<String>,
}

/// Why a string is not an acceptable phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// The input is empty or only blanks.
    #[error("empty")]
    Empty,
    /// The input holds letters or symbols, or no digits at all.
    #[error("not a phone number")]
    NotANumber,
    /// Too few digits to be a phone number.
    #[error("too short to be a phone number")]
    TooShort,
    /// More digits than any phone number has.
    #[error("too long to be a phone number")]
    TooLong,
    /// An international number whose country calling code does not exist.
    #[error("unknown country calling code")]
    UnknownCountryCode,
    /// The number parses but is not a valid number of the country it belongs to.
    #[error("not a valid number for {region}")]
    InvalidForRegion {
        /// The country the number was read as (the default region for national numbers).
        region: String,
    },
    /// The default region is not an ISO 3166 alpha-2 code libphonenumber knows.
    #[error("unknown region {0:?} (expected an ISO 3166 code such as FR)")]
    UnknownRegion(String),
}

/// A default region checked once, so that bulk callers skip the lookup on every number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Region(Id);

impl Region {
    /// Parses an ISO 3166 alpha-2 code, case-insensitively.
    pub(crate) fn parse(code: &str) -> Result<Region, PhoneError> {
        let upper = code.trim().to_ascii_uppercase();
        let id: Id = upper
            .parse()
            .map_err(|_| PhoneError::UnknownRegion(code.to_string()))?;
        // The parser unwraps this lookup, so an id without metadata must never reach it.
        if DATABASE.by_id(id.as_ref()).is_none() {
            return Err(PhoneError::UnknownRegion(code.to_string()));
        }
        Ok(Region(id))
    }
}

/// Normalises `raw` to E.164, reading national numbers as numbers of `default_region`
/// (ISO 3166 alpha-2, e.g. `"FR"`).
pub fn normalize(raw: &str, default_region: &str) -> Result<Normalized, PhoneError> {
    normalize_in(raw, Region::parse(default_region)?)
}

/// [`normalize`] with the default region already checked.
pub(crate) fn normalize_in(raw: &str, region: Region) -> Result<Normalized, PhoneError> {
    let compact = compact(raw)?;
    let first = match international(&compact, region.0) {
        // With a default region, the parser strips that region's trunk prefix even from
        // foreign numbers (+39 02… would lose its 0), so international numbers go without one.
        Some(international) => parse_valid(&international, None, region.0),
        None => parse_valid(&compact, Some(region.0), region.0),
    };
    first
        .or_else(|err| {
            retries(&compact, region.0)
                .find_map(|(number, id)| parse_valid(&number, Some(id), id).ok())
                .ok_or(err)
        })
        .map(|number| normalized(&number))
}

/// Keeps the digits and a leading `+`, refusing anything that is not a separator.
fn compact(raw: &str) -> Result<String, PhoneError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(PhoneError::Empty);
    }
    if raw.len() > MAX_RAW_LEN {
        return Err(PhoneError::TooLong);
    }
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '0'..='9' => out.push(c),
            '+' if out.is_empty() => out.push(c),
            // Spreadsheets write French numbers with (narrow) no-break spaces.
            ' ' | '\t' | '\u{a0}' | '\u{202f}' | '.' | '-' | '/' | '(' | ')' => {}
            _ => return Err(PhoneError::NotANumber),
        }
    }
    match out.bytes().filter(u8::is_ascii_digit).count() {
        0 => Err(PhoneError::NotANumber),
        1 => Err(PhoneError::TooShort),
        // E.164 allows 15 digits; an international prefix such as 0011 adds up to 4.
        n if n > 19 => Err(PhoneError::TooLong),
        _ => Ok(out),
    }
}

/// The number with a `+` if it is written in international form: with a `+` or with the
/// default region's international call prefix (`00` in France, `011` in North America).
fn international(compact: &str, region: Id) -> Option<String> {
    if compact.starts_with('+') {
        return Some(compact.to_string());
    }
    let idd = DATABASE.by_id(region.as_ref())?.international_prefix()?;
    let found = idd
        .find(compact)
        .filter(|m| m.start() == 0 && m.end() > 0)?;
    Some(format!("+{}", compact.get(found.end()..)?))
}

/// Parses and keeps the number only if libphonenumber calls it valid; `default` names the
/// region in the error when the number has none of its own.
fn parse_valid(number: &str, region: Option<Id>, default: Id) -> Result<PhoneNumber, PhoneError> {
    use phonenumber::ParseError;
    let number = phonenumber::parse(region, number).map_err(|e| match e {
        ParseError::NoNumber | ParseError::MalformedInteger(_) => PhoneError::NotANumber,
        ParseError::InvalidCountryCode => PhoneError::UnknownCountryCode,
        ParseError::TooShortAfterIdd | ParseError::TooShortNsn => PhoneError::TooShort,
        ParseError::TooLong => PhoneError::TooLong,
    })?;
    if phonenumber::is_valid(&number) {
        Ok(number)
    } else {
        let region = region_of(&number).unwrap_or_else(|| id_code(default));
        Err(PhoneError::InvalidForRegion { region })
    }
}

/// The country of a number: from its digits when libphonenumber can tell, else the main
/// country of its calling code (Italian landlines keep a leading 0 that defeats the former).
fn region_of(number: &PhoneNumber) -> Option<String> {
    number.country().id().map(id_code).or_else(|| {
        DATABASE
            .region(&number.code().value())?
            .first()
            .filter(|r| **r != "001")
            .map(|r| r.to_string())
    })
}

/// Other readings worth a try when the first one fails: French overseas numbers written in
/// the French plan ("0690 …" or "+33 690 …" ring in Guadeloupe, whose code is +590) and a
/// `00` prefix where the default region dials abroad differently.
fn retries(compact: &str, region: Id) -> impl Iterator<Item = (String, Id)> {
    let overseas = french_national(compact, region == Id::FR)
        .and_then(|national| overseas_region(&national).map(|id| (national, id)));
    let idd = compact
        .strip_prefix("00")
        .filter(|rest| !rest.starts_with('0'))
        .map(|rest| (format!("+{rest}"), region));
    overseas.into_iter().chain(idd)
}

/// The 9 digits after the trunk `0` of a number in the French plan, with that `0`:
/// `0690123456` from `0690123456` (only when France is the default), `+33690123456`,
/// `0033690123456` or `33690123456`.
fn french_national(compact: &str, france_default: bool) -> Option<String> {
    let nsn = if compact.len() == 10 && france_default {
        compact.strip_prefix('0')?
    } else {
        ["+33", "0033", "33"]
            .iter()
            .find_map(|prefix| compact.strip_prefix(prefix))
            .filter(|rest| rest.len() == 9)?
    };
    Some(format!("0{nsn}"))
}

/// The overseas department of a 10-digit French national number, from the ARCEP plan.
fn overseas_region(national: &str) -> Option<Id> {
    match national.get(1..4)? {
        "590" | "690" | "691" => Some(Id::GP),
        "596" | "696" | "697" => Some(Id::MQ),
        "594" | "694" => Some(Id::GF),
        "262" | "263" | "692" | "693" => Some(Id::RE),
        "269" | "639" => Some(Id::YT),
        _ => None,
    }
}

fn normalized(number: &PhoneNumber) -> Normalized {
    // Written by hand: the E.164 formatter looks up formatting rules E.164 does not use.
    Normalized {
        e164: format!("+{}{}", number.code().value(), number.national()),
        region: region_of(number),
    }
}

fn id_code(id: Id) -> String {
    let code: &str = id.as_ref();
    code.to_string()
}

/// Parses an IANA time zone name such as `Europe/Paris` (surrounding blanks ignored, `UTC`
/// accepted). An exact match is tried first; a differently-cased name is accepted too.
pub fn parse_time_zone(s: &str) -> Option<Tz> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(tz) = s.parse::<Tz>() {
        return Some(tz);
    }
    chrono_tz::TZ_VARIANTS
        .iter()
        .copied()
        .find(|tz| tz.name().eq_ignore_ascii_case(s))
}

/// The time zones a number of `region` (ISO 3166 alpha-2, any case) may ring in; empty for a
/// region this table does not cover, in which case the caller uses the campaign's zone.
///
/// Countries spanning several zones list them all (the US lists seven). The hopper treats
/// them conservatively: a lead of such a country is only dialled while the calling window
/// is open in every one of its zones, since the number alone does not say where the
/// person is. A time zone given with the lead overrides this table.
pub fn zones_for_region(region: &str) -> &'static [Tz] {
    use chrono_tz::{Africa, America, Asia, Atlantic, Australia, Europe, Indian, Pacific};
    let &[a, b] = region.as_bytes() else {
        return &[];
    };
    match &[a.to_ascii_uppercase(), b.to_ascii_uppercase()] {
        // France and its overseas departments, collectivities and territories.
        b"FR" => &[Europe::Paris],
        b"GP" => &[America::Guadeloupe],
        b"MQ" => &[America::Martinique],
        b"GF" => &[America::Cayenne],
        b"RE" => &[Indian::Reunion],
        b"YT" => &[Indian::Mayotte],
        b"PM" => &[America::Miquelon],
        b"BL" => &[America::St_Barthelemy],
        b"MF" => &[America::Marigot],
        b"NC" => &[Pacific::Noumea],
        b"PF" => &[Pacific::Tahiti, Pacific::Marquesas, Pacific::Gambier],
        b"WF" => &[Pacific::Wallis],
        // French-speaking Europe and neighbours.
        b"BE" => &[Europe::Brussels],
        b"LU" => &[Europe::Luxembourg],
        b"MC" => &[Europe::Monaco],
        b"CH" => &[Europe::Zurich],
        b"DE" => &[Europe::Berlin],
        b"AT" => &[Europe::Vienna],
        b"NL" => &[Europe::Amsterdam],
        b"IT" => &[Europe::Rome],
        b"ES" => &[Europe::Madrid, Atlantic::Canary],
        b"PT" => &[Europe::Lisbon, Atlantic::Azores],
        b"GB" => &[Europe::London],
        b"IE" => &[Europe::Dublin],
        // The rest of the European Union, and nearby.
        b"BG" => &[Europe::Sofia],
        b"HR" => &[Europe::Zagreb],
        b"CY" => &[Asia::Nicosia],
        b"CZ" => &[Europe::Prague],
        b"DK" => &[Europe::Copenhagen],
        b"EE" => &[Europe::Tallinn],
        b"FI" => &[Europe::Helsinki],
        b"GR" => &[Europe::Athens],
        b"HU" => &[Europe::Budapest],
        b"LV" => &[Europe::Riga],
        b"LT" => &[Europe::Vilnius],
        b"MT" => &[Europe::Malta],
        b"PL" => &[Europe::Warsaw],
        b"RO" => &[Europe::Bucharest],
        b"SK" => &[Europe::Bratislava],
        b"SI" => &[Europe::Ljubljana],
        b"SE" => &[Europe::Stockholm],
        b"NO" => &[Europe::Oslo],
        b"AD" => &[Europe::Andorra],
        b"LI" => &[Europe::Vaduz],
        b"SM" => &[Europe::San_Marino],
        b"IS" => &[Atlantic::Reykjavik],
        // North and West Africa.
        b"MA" => &[Africa::Casablanca],
        b"DZ" => &[Africa::Algiers],
        b"TN" => &[Africa::Tunis],
        b"SN" => &[Africa::Dakar],
        b"CI" => &[Africa::Abidjan],
        b"CM" => &[Africa::Douala],
        // The Americas.
        b"US" => &[
            America::New_York,
            America::Chicago,
            America::Denver,
            America::Phoenix,
            America::Los_Angeles,
            America::Anchorage,
            Pacific::Honolulu,
        ],
        b"CA" => &[
            America::St_Johns,
            America::Halifax,
            America::Toronto,
            America::Winnipeg,
            America::Regina,
            America::Edmonton,
            America::Vancouver,
        ],
        b"PR" => &[America::Puerto_Rico],
        b"MX" => &[
            America::Mexico_City,
            America::Cancun,
            America::Chihuahua,
            America::Mazatlan,
            America::Hermosillo,
            America::Tijuana,
        ],
        b"BR" => &[
            America::Noronha,
            America::Sao_Paulo,
            America::Manaus,
            America::Rio_Branco,
        ],
        // Asia and Oceania.
        b"AU" => &[
            Australia::Sydney,
            Australia::Brisbane,
            Australia::Adelaide,
            Australia::Darwin,
            Australia::Perth,
        ],
        b"IL" => &[Asia::Jerusalem],
        b"TR" => &[Europe::Istanbul],
        b"IN" => &[Asia::Kolkata],
        b"CN" => &[Asia::Shanghai],
        b"JP" => &[Asia::Tokyo],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(raw: &str, region: &str) -> String {
        normalize(raw, region).unwrap().e164
    }

    #[test]
    fn french_numbers_in_every_usual_spelling() {
        for raw in [
            "06 12 34 56 78",
            "06.12.34.56.78",
            "06-12-34-56-78",
            "0612345678",
            "+33 6 12 34 56 78",
            "+33 (0)6 12 34 56 78",
            "0033612345678",
            "33612345678",
            "612345678",
            "06\u{a0}12\u{a0}34\u{a0}56\u{a0}78",
            "  06 12 34 56 78  ",
        ] {
            let n = normalize(raw, "FR").unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            assert_eq!(n.e164, "+33612345678", "{raw:?}");
            assert_eq!(n.region.as_deref(), Some("FR"), "{raw:?}");
        }
        assert_eq!(e164("01 42 68 53 00", "FR"), "+33142685300");
        assert_eq!(e164("09 70 12 34 56", "fr"), "+33970123456");
    }

    #[test]
    fn french_overseas_numbers_get_their_own_country() {
        let gp = normalize("0690 12 34 56", "FR").unwrap();
        assert_eq!(gp.e164, "+590690123456");
        assert_eq!(gp.region.as_deref(), Some("GP"));
        assert_eq!(e164("+33 690 12 34 56", "FR"), "+590690123456");
        assert_eq!(e164("+590 690 12 34 56", "DE"), "+590690123456");
        let re = normalize("0692 12 34 56", "FR").unwrap();
        assert_eq!(re.e164, "+262692123456");
        assert_eq!(re.region.as_deref(), Some("RE"));
        assert_eq!(
            normalize("0696 12 34 56", "FR").unwrap().region.as_deref(),
            Some("MQ")
        );
    }

    #[test]
    fn north_american_and_other_foreign_numbers() {
        let us = normalize("(212) 555-0100", "US").unwrap();
        assert_eq!(us.e164, "+12125550100");
        assert_eq!(us.region.as_deref(), Some("US"));
        // A +1 number in a French file keeps its own country.
        let us = normalize("+1 212 555 0100", "FR").unwrap();
        assert_eq!(us.e164, "+12125550100");
        assert_eq!(us.region.as_deref(), Some("US"));
        assert_eq!(
            normalize("+1 416 555 0199", "FR")
                .unwrap()
                .region
                .as_deref(),
            Some("CA")
        );
        assert_eq!(e164("011 33 6 12 34 56 78", "US"), "+33612345678");
        assert_eq!(e164("0044 20 7946 0958", "US"), "+442079460958");
        // Italian landlines keep their leading 0 after the country code.
        let it = normalize("+39 02 1234 5678", "FR").unwrap();
        assert_eq!(it.e164, "+390212345678");
        assert_eq!(it.region.as_deref(), Some("IT"));
        let free = normalize("+800 1234 5678", "FR").unwrap();
        assert_eq!(free.region, None);
    }

    #[test]
    fn rejects_with_a_reason() {
        let fr = PhoneError::InvalidForRegion {
            region: "FR".into(),
        };
        assert_eq!(normalize("", "FR"), Err(PhoneError::Empty));
        assert_eq!(normalize("   ", "FR"), Err(PhoneError::Empty));
        assert_eq!(normalize("n/a", "FR"), Err(PhoneError::NotANumber));
        assert_eq!(
            normalize("06 12 34 56 78 ext 12", "FR"),
            Err(PhoneError::NotANumber)
        );
        assert_eq!(
            normalize("++33612345678", "FR"),
            Err(PhoneError::NotANumber)
        );
        assert_eq!(normalize("0", "FR"), Err(PhoneError::TooShort));
        assert_eq!(normalize("12", "FR"), Err(fr.clone()));
        assert_eq!(normalize("06 12 34", "FR"), Err(fr.clone()));
        assert_eq!(normalize("06 12 34 56 78 9", "FR"), Err(fr));
        assert_eq!(
            normalize("0612345678901234567890", "FR"),
            Err(PhoneError::TooLong)
        );
        assert_eq!(
            normalize("+999 123456", "FR"),
            Err(PhoneError::UnknownCountryCode)
        );
        assert_eq!(
            normalize("+1 23", "FR"),
            Err(PhoneError::InvalidForRegion {
                region: "US".into()
            })
        );
        assert_eq!(
            normalize("0612345678", "XX"),
            Err(PhoneError::UnknownRegion("XX".into()))
        );
        assert_eq!(
            normalize("12", "FR").unwrap_err().to_string(),
            "not a valid number for FR"
        );
    }

    #[test]
    fn never_panics_on_digit_soup() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let regions = ["FR", "US", "IT", "GB", "BR", "JP", "RE", "AR"];
        for _ in 0..300 {
            let mut s = ["+", "00", "0", ""][(next() % 4) as usize].to_string();
            for _ in 0..next() % 20 {
                s.push(char::from(b'0' + (next() % 10) as u8));
            }
            let region = regions[(next() % regions.len() as u64) as usize];
            if let Ok(n) = normalize(&s, region) {
                assert!(n.e164.starts_with('+') && n.e164.len() <= 16, "{s} → {n:?}");
            }
        }
    }

    #[test]
    fn zones_by_region() {
        assert_eq!(zones_for_region("FR"), &[chrono_tz::Europe::Paris]);
        assert_eq!(zones_for_region("fr"), &[chrono_tz::Europe::Paris]);
        assert_eq!(zones_for_region("GP"), &[chrono_tz::America::Guadeloupe]);
        assert_eq!(zones_for_region("RE"), &[chrono_tz::Indian::Reunion]);
        assert_eq!(zones_for_region("PF").len(), 3);
        assert_eq!(
            zones_for_region("ES"),
            &[chrono_tz::Europe::Madrid, chrono_tz::Atlantic::Canary]
        );
        assert_eq!(zones_for_region("US").len(), 7);
        assert!(zones_for_region("US").contains(&chrono_tz::America::Phoenix));
        assert_eq!(zones_for_region("CA").len(), 7);
        assert!(zones_for_region("CA").contains(&chrono_tz::America::St_Johns));
        assert!(zones_for_region("XX").is_empty());
        assert!(zones_for_region("").is_empty());
        assert!(zones_for_region("FRA").is_empty());
        // Every EU member is covered.
        for eu in [
            "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
            "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
        ] {
            assert!(!zones_for_region(eu).is_empty(), "{eu}");
        }
    }

    #[test]
    fn time_zone_names() {
        assert_eq!(
            parse_time_zone("Europe/Paris"),
            Some(chrono_tz::Europe::Paris)
        );
        assert_eq!(
            parse_time_zone(" Europe/Paris "),
            Some(chrono_tz::Europe::Paris)
        );
        assert_eq!(
            parse_time_zone("europe/paris"),
            Some(chrono_tz::Europe::Paris)
        );
        assert_eq!(parse_time_zone("UTC"), Some(Tz::UTC));
        assert_eq!(parse_time_zone("Paris"), None);
        assert_eq!(parse_time_zone(""), None);
    }
}
