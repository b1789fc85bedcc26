//! Human or `--json` output for admin commands.

/// Prints `value` as JSON when `json`, else the human text.
pub fn emit(json: bool, value: &serde_json::Value, human: impl FnOnce() -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
        );
    } else {
        println!("{}", human());
    }
}

/// A timestamp for humans and JSON: RFC 3339.
pub fn ts(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
