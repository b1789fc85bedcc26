//! Static locale and option data (`keap/rest-v1.md` §11): `/locales/countries`,
//! `/locales/countries/{code}/provinces`, `/locales/defaultOptions` and the option lists of
//! `/setting/*`.
//!
//! Country codes are ISO 3166-1 alpha-3, as contact addresses use them (§1.1); province codes
//! are ISO 3166-2 (`US-CA`), as v2's `region_code` uses them. keapsake ships a subset: the
//! countries most accounts deal with, and the subdivisions of the United States, Canada and
//! Australia.

/// Contact types (`/setting/contact/optionTypes`, `contact_types`): Keap's defaults.
pub const CONTACT_TYPES: &[&str] = &["Lead", "Customer", "Other"];
/// Phone types.
pub const PHONE_TYPES: &[&str] = &["Work", "Home", "Mobile", "Other"];
/// Fax types.
pub const FAX_TYPES: &[&str] = &["Work", "Home", "Other"];
/// Name suffixes.
pub const SUFFIX_TYPES: &[&str] = &["Jr", "Sr", "II", "III", "IV", "MD", "PhD", "DDS", "Esq"];
/// Titles (name prefixes).
pub const TITLE_TYPES: &[&str] = &["Mr.", "Mrs.", "Ms.", "Miss", "Dr.", "Rev."];

/// Countries: ISO 3166-1 alpha-3 code, alpha-2 code, English name.
pub const COUNTRIES: &[(&str, &str, &str)] = &[
    ("ARG", "AR", "Argentina"),
    ("AUS", "AU", "Australia"),
    ("AUT", "AT", "Austria"),
    ("BEL", "BE", "Belgium"),
    ("BRA", "BR", "Brazil"),
    ("CAN", "CA", "Canada"),
    ("CHE", "CH", "Switzerland"),
    ("CHL", "CL", "Chile"),
    ("CHN", "CN", "China"),
    ("COL", "CO", "Colombia"),
    ("CRI", "CR", "Costa Rica"),
    ("CZE", "CZ", "Czechia"),
    ("DEU", "DE", "Germany"),
    ("DNK", "DK", "Denmark"),
    ("DOM", "DO", "Dominican Republic"),
    ("EGY", "EG", "Egypt"),
    ("ESP", "ES", "Spain"),
    ("EST", "EE", "Estonia"),
    ("FIN", "FI", "Finland"),
    ("FRA", "FR", "France"),
    ("GBR", "GB", "United Kingdom"),
    ("GRC", "GR", "Greece"),
    ("HKG", "HK", "Hong Kong"),
    ("HRV", "HR", "Croatia"),
    ("HUN", "HU", "Hungary"),
    ("IDN", "ID", "Indonesia"),
    ("IND", "IN", "India"),
    ("IRL", "IE", "Ireland"),
    ("ISL", "IS", "Iceland"),
    ("ISR", "IL", "Israel"),
    ("ITA", "IT", "Italy"),
    ("JAM", "JM", "Jamaica"),
    ("JPN", "JP", "Japan"),
    ("KEN", "KE", "Kenya"),
    ("KOR", "KR", "Korea, Republic of"),
    ("LTU", "LT", "Lithuania"),
    ("LUX", "LU", "Luxembourg"),
    ("LVA", "LV", "Latvia"),
    ("MEX", "MX", "Mexico"),
    ("MYS", "MY", "Malaysia"),
    ("NGA", "NG", "Nigeria"),
    ("NLD", "NL", "Netherlands"),
    ("NOR", "NO", "Norway"),
    ("NZL", "NZ", "New Zealand"),
    ("PER", "PE", "Peru"),
    ("PHL", "PH", "Philippines"),
    ("POL", "PL", "Poland"),
    ("PRI", "PR", "Puerto Rico"),
    ("PRT", "PT", "Portugal"),
    ("ROU", "RO", "Romania"),
    ("SAU", "SA", "Saudi Arabia"),
    ("SGP", "SG", "Singapore"),
    ("SVK", "SK", "Slovakia"),
    ("SVN", "SI", "Slovenia"),
    ("SWE", "SE", "Sweden"),
    ("THA", "TH", "Thailand"),
    ("TUR", "TR", "Türkiye"),
    ("TWN", "TW", "Taiwan"),
    ("UKR", "UA", "Ukraine"),
    ("ARE", "AE", "United Arab Emirates"),
    ("URY", "UY", "Uruguay"),
    ("USA", "US", "United States"),
    ("VNM", "VN", "Viet Nam"),
    ("ZAF", "ZA", "South Africa"),
];

/// United States: the states, the District of Columbia and the inhabited territories.
const USA: &[(&str, &str)] = &[
    ("US-AL", "Alabama"),
    ("US-AK", "Alaska"),
    ("US-AS", "American Samoa"),
    ("US-AZ", "Arizona"),
    ("US-AR", "Arkansas"),
    ("US-CA", "California"),
    ("US-CO", "Colorado"),
    ("US-CT", "Connecticut"),
    ("US-DE", "Delaware"),
    ("US-DC", "District of Columbia"),
    ("US-FL", "Florida"),
    ("US-GA", "Georgia"),
    ("US-GU", "Guam"),
    ("US-HI", "Hawaii"),
    ("US-ID", "Idaho"),
    ("US-IL", "Illinois"),
    ("US-IN", "Indiana"),
    ("US-IA", "Iowa"),
    ("US-KS", "Kansas"),
    ("US-KY", "Kentucky"),
    ("US-LA", "Louisiana"),
    ("US-ME", "Maine"),
    ("US-MD", "Maryland"),
    ("US-MA", "Massachusetts"),
    ("US-MI", "Michigan"),
    ("US-MN", "Minnesota"),
    ("US-MS", "Mississippi"),
    ("US-MO", "Missouri"),
    ("US-MT", "Montana"),
    ("US-NE", "Nebraska"),
    ("US-NV", "Nevada"),
    ("US-NH", "New Hampshire"),
    ("US-NJ", "New Jersey"),
    ("US-NM", "New Mexico"),
    ("US-NY", "New York"),
    ("US-NC", "North Carolina"),
    ("US-ND", "North Dakota"),
    ("US-MP", "Northern Mariana Islands"),
    ("US-OH", "Ohio"),
    ("US-OK", "Oklahoma"),
    ("US-OR", "Oregon"),
    ("US-PA", "Pennsylvania"),
    ("US-PR", "Puerto Rico"),
    ("US-RI", "Rhode Island"),
    ("US-SC", "South Carolina"),
    ("US-SD", "South Dakota"),
    ("US-TN", "Tennessee"),
    ("US-TX", "Texas"),
    ("US-UT", "Utah"),
    ("US-VT", "Vermont"),
    ("US-VI", "Virgin Islands, U.S."),
    ("US-VA", "Virginia"),
    ("US-WA", "Washington"),
    ("US-WV", "West Virginia"),
    ("US-WI", "Wisconsin"),
    ("US-WY", "Wyoming"),
];

/// Canada: provinces and territories.
const CAN: &[(&str, &str)] = &[
    ("CA-AB", "Alberta"),
    ("CA-BC", "British Columbia"),
    ("CA-MB", "Manitoba"),
    ("CA-NB", "New Brunswick"),
    ("CA-NL", "Newfoundland and Labrador"),
    ("CA-NS", "Nova Scotia"),
    ("CA-NT", "Northwest Territories"),
    ("CA-NU", "Nunavut"),
    ("CA-ON", "Ontario"),
    ("CA-PE", "Prince Edward Island"),
    ("CA-QC", "Quebec"),
    ("CA-SK", "Saskatchewan"),
    ("CA-YT", "Yukon"),
];

/// Australia: states and territories.
const AUS: &[(&str, &str)] = &[
    ("AU-ACT", "Australian Capital Territory"),
    ("AU-NSW", "New South Wales"),
    ("AU-NT", "Northern Territory"),
    ("AU-QLD", "Queensland"),
    ("AU-SA", "South Australia"),
    ("AU-TAS", "Tasmania"),
    ("AU-VIC", "Victoria"),
    ("AU-WA", "Western Australia"),
];

/// The alpha-3 code of a country given by its alpha-3 or alpha-2 code (any ASCII case), if
/// keapsake knows it.
pub fn country(code: &str) -> Option<&'static str> {
    let code = code.trim();
    COUNTRIES
        .iter()
        .find(|(a3, a2, _)| a3.eq_ignore_ascii_case(code) || a2.eq_ignore_ascii_case(code))
        .map(|(a3, _, _)| *a3)
}

/// The provinces of a known country (alpha-3), empty when keapsake ships none for it.
pub fn provinces(alpha3: &str) -> &'static [(&'static str, &'static str)] {
    match alpha3 {
        "USA" => USA,
        "CAN" => CAN,
        "AUS" => AUS,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        for (i, (a3, a2, name)) in COUNTRIES.iter().enumerate() {
            assert_eq!(a3.len(), 3, "{a3}");
            assert_eq!(a2.len(), 2, "{a2}");
            assert!(!name.is_empty());
            assert!(
                COUNTRIES[..i].iter().all(|(x, y, _)| x != a3 && y != a2),
                "{a3} twice"
            );
        }
        for a3 in ["USA", "CAN", "AUS"] {
            let list = provinces(a3);
            assert!(!list.is_empty());
            for (i, (code, _)) in list.iter().enumerate() {
                assert!(list[..i].iter().all(|(c, _)| c != code), "{code} twice");
            }
        }
        assert_eq!(provinces("USA").len(), 56);
        assert_eq!(provinces("CAN").len(), 13);
    }

    #[test]
    fn countries_by_either_code() {
        assert_eq!(country("usa"), Some("USA"));
        assert_eq!(country("ca"), Some("CAN"));
        assert_eq!(country("XYZ"), None);
        assert!(provinces("FRA").is_empty());
    }
}
