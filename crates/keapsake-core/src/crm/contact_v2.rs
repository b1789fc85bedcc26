//! Contacts over REST v2 (`keap/rest-v2.md` §3): the same stored [`ContactDoc`] as v1 and
//! XML-RPC, read and written in v2's shape. A v2 body is validated, translated to the v1 body
//! ([`ContactBody`]) and turned into the same [`ContactChanges`], with v2's list rule
//! (`replace_lists`: a list sent replaces the stored one) — so every rule of the document (the
//! opt-in rule, slots, custom fields, the e-mail-or-phone invariant) is the one v1 applies.
//!
//! What v2 adds over v1's fields lives in the document's `extra` members under v2's names
//! ([`V2_EXTRA_FIELDS`]); v1 keeps them untouched. The per-address opt status of v2 is the
//! contact's `email_status` for `EMAIL1` and the account's address status
//! (`PUT /emailAddresses/{email}`) for the other slots.

use super::contact::{
    ContactBody, ContactChanges, ContactDoc, EmailField, EmailStatus, OriginEntry, SocialType,
    SourceType,
};
use super::{Field, check_text, fold};
use crate::crm_more::locale;
use crate::v2::format_time;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use time::OffsetDateTime;

/// Scalar v2 fields without a v1 counterpart, kept in the document's `extra` members, with
/// their maximum lengths (the spec's `maxLength`; `referral_code` has none, 255 here).
pub const V2_EXTRA_FIELDS: &[(&str, usize)] = &[
    ("referral_code", 255),
    ("assistant_name", 20),
    ("assistant_phone", 15),
    ("billing_information", 100),
];

/// Every property of the v2 `Contact` a client may name in `fields` (the spec's list).
pub const FIELDS: &[&str] = &[
    "addresses",
    "anniversary_date",
    "birth_date",
    "company",
    "contact_type",
    "create_time",
    "custom_fields",
    "email_addresses",
    "family_name",
    "fax_numbers",
    "given_name",
    "id",
    "job_title",
    "leadsource_id",
    "links",
    "middle_name",
    "notes",
    "origin",
    "owner_id",
    "phone_numbers",
    "preferred_locale",
    "preferred_name",
    "prefix",
    "referral_code",
    "score_value",
    "social_accounts",
    "source_type",
    "spouse_name",
    "suffix",
    "tag_ids",
    "time_zone",
    "update_time",
    "utm_parameters",
    "website",
    "account_id",
    "assistant_name",
    "assistant_phone",
    "billing_information",
    "created_by",
    "groups",
    "last_updated_by",
];

/// The names `update_mask` accepts: the same list (read-only names are accepted and change
/// nothing, as the spec lists them).
pub const UPDATE_MASK: &[&str] = FIELDS;

/// Default projection of `listContacts` (`keap/rest-v2.md` §3.1).
pub const LIST_FIELDS: &[&str] = &[
    "id",
    "given_name",
    "family_name",
    "middle_name",
    "email_addresses",
    "phone_numbers",
    "addresses",
    "company",
    "owner_id",
    "tag_ids",
    "create_time",
    "update_time",
];

/// Fields `getContact` and the write responses leave out unless named in `fields`; also the
/// `optional_properties` of `GET /contacts/model`.
pub const OPTIONAL_PROPERTIES: &[&str] = &["custom_fields", "links", "utm_parameters", "notes"];

/// The default projection of one contact: every field but [`OPTIONAL_PROPERTIES`].
pub fn single_fields() -> Vec<&'static str> {
    FIELDS
        .iter()
        .copied()
        .filter(|f| !OPTIONAL_PROPERTIES.contains(f))
        .collect()
}

/// v2's spelling of a source type (`FORMAPIHOSTED` → `FORM_API_HOSTED`).
pub fn source_type_v2(t: SourceType) -> &'static str {
    match t {
        SourceType::Appointment => "APPOINTMENT",
        SourceType::FormApiHosted => "FORM_API_HOSTED",
        SourceType::FormApiInternal => "FORM_API_INTERNAL",
        SourceType::Webform => "WEBFORM",
        SourceType::InternalForm => "INTERNAL_FORM",
        SourceType::LandingPage => "LANDING_PAGE",
        SourceType::Import => "IMPORT",
        SourceType::Manual => "MANUAL",
        SourceType::Api => "API",
        SourceType::Other => "OTHER",
        SourceType::Unknown => "UNKNOWN",
    }
}

/// v2's spelling of a social network (`LinkedIn` → `LINKED_IN`).
pub fn social_type_v2(t: SocialType) -> &'static str {
    match t {
        SocialType::Facebook => "FACEBOOK",
        SocialType::Twitter => "TWITTER",
        SocialType::LinkedIn => "LINKED_IN",
        SocialType::Instagram => "INSTAGRAM",
        SocialType::Snapchat => "SNAPCHAT",
        SocialType::YouTube => "YOUTUBE",
        SocialType::Pinterest => "PINTEREST",
    }
}

/// v2's `email_opt_status` (`SingleOptIn` → `SINGLE_OPT_IN`).
pub fn email_status_v2(s: EmailStatus) -> &'static str {
    match s {
        EmailStatus::UnengagedMarketable => "UNENGAGED_MARKETABLE",
        EmailStatus::SingleOptIn => "SINGLE_OPT_IN",
        EmailStatus::DoubleOptin => "DOUBLE_OPT_IN",
        EmailStatus::Confirmed => "CONFIRMED",
        EmailStatus::UnengagedNonMarketable => "UNENGAGED_NON_MARKETABLE",
        EmailStatus::NonMarketable => "NON_MARKETABLE",
        EmailStatus::Lockdown => "LOCKDOWN",
        EmailStatus::Bounce => "BOUNCE",
        EmailStatus::HardBounce => "HARD_BOUNCE",
        EmailStatus::Manual => "MANUAL",
        EmailStatus::Admin => "ADMIN",
        EmailStatus::System => "SYSTEM",
        EmailStatus::ListUnsubscribe => "LIST_UNSUBSCRIBE",
        EmailStatus::Feedback => "FEEDBACK",
        EmailStatus::Spam => "SPAM",
        EmailStatus::Invalid => "INVALID",
        EmailStatus::Deactivated => "DEACTIVATED",
    }
}

/// A v2 enum value sent by a client, as the v1 parser reads it: the `*_UNSPECIFIED` zero value
/// is "not sent", underscores go (`FORM_API_HOSTED` → `FORMAPIHOSTED`, `LINKED_IN` →
/// `LINKEDIN`; the v1 parsers ignore ASCII case).
fn v1_enum(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) if s.trim().ends_with("_UNSPECIFIED") => None,
        Value::String(s) => Some(Value::String(s.replace('_', ""))),
        other => Some(other.clone()),
    }
}

/// A slot (`field`) of a list item: the `*_UNSPECIFIED` zero value means "no slot given".
fn slot(item: &Map<String, Value>) -> Option<Value> {
    item.get("field").and_then(v1_enum)
}

/// v2 changes to a contact: the v1 changes plus the v2-only scalars.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct V2Changes {
    /// What [`ContactDoc::apply`] consumes (with `replace_lists` set).
    pub changes: ContactChanges,
    /// `(name, change)` of the [`V2_EXTRA_FIELDS`] sent.
    pub extras: Vec<(&'static str, Field<String>)>,
}

impl V2Changes {
    /// Applies the v2-only scalars to a document (after [`ContactDoc::apply`]).
    pub fn apply_extras(&self, doc: &mut ContactDoc) {
        for (name, change) in &self.extras {
            match change {
                Field::Absent => {}
                Field::Null => {
                    doc.extra.remove(*name);
                }
                Field::Set(s) => {
                    doc.extra
                        .insert((*name).to_owned(), Value::String(s.clone()));
                }
            }
        }
    }
}

/// Maps an `update_mask` name of v2 to the v1 names [`ContactBody::into_changes`] keeps.
fn v1_mask_names(name: &str) -> &'static [&'static str] {
    match name {
        "addresses" => &["addresses"],
        "anniversary_date" => &["anniversary"],
        "birth_date" => &["birthday"],
        "company" => &["company"],
        "contact_type" => &["contact_type"],
        "custom_fields" => &["custom_fields"],
        "email_addresses" => &["email_addresses", "opt_in_reason"],
        "family_name" => &["family_name"],
        "fax_numbers" => &["fax_numbers"],
        "given_name" => &["given_name"],
        "job_title" => &["job_title"],
        "leadsource_id" => &["lead_source_id"],
        "middle_name" => &["middle_name"],
        "origin" => &["origin"],
        "owner_id" => &["owner_id"],
        "phone_numbers" => &["phone_numbers"],
        "preferred_locale" => &["preferred_locale"],
        "preferred_name" => &["preferred_name"],
        "prefix" => &["prefix"],
        "social_accounts" => &["social_accounts"],
        "source_type" => &["source_type"],
        "spouse_name" => &["spouse_name"],
        "suffix" => &["suffix"],
        "time_zone" => &["time_zone"],
        "website" => &["website"],
        _ => &[],
    }
}

/// The v2 length limits of top-level text fields (the spec's `maxLength`).
const V2_MAX_LENGTHS: &[(&str, usize)] = &[
    ("given_name", 40),
    ("family_name", 40),
    ("middle_name", 100),
    ("preferred_name", 100),
    ("spouse_name", 100),
    ("website", 100),
    ("job_title", 255),
];

/// A v2 address item as the v1 parser reads it: `region_code` (ISO 3166-2, `US-AZ`) becomes
/// the region's long name when keapsake knows the subdivision (what v1 and Keap's `region`
/// show), else it is kept as sent; a `region` long name is taken when no code is sent;
/// `country` (deprecated input) is ignored.
fn v1_address(item: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for key in [
        "line1",
        "line2",
        "locality",
        "postal_code",
        "zip_code",
        "zip_four",
        "country_code",
    ] {
        if let Some(v) = item.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    if let Some(f) = slot(item) {
        out.insert("field".to_owned(), f);
    }
    let code = item
        .get("region_code")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let region = match code {
        Some(code) => {
            let country = item
                .get("country_code")
                .and_then(Value::as_str)
                .and_then(locale::country)
                .unwrap_or("");
            let name = locale::provinces(country)
                .iter()
                .find(|(c, _)| c.eq_ignore_ascii_case(code))
                .map(|(_, n)| (*n).to_owned());
            Some(Value::String(name.unwrap_or_else(|| code.to_owned())))
        }
        None => item.get("region").cloned(),
    };
    if let Some(r) = region {
        out.insert("region".to_owned(), r);
    }
    out
}

/// Validates a v2 contact body (create, upsert or `PATCH`) into changes. With `mask`
/// (`update_mask`), only the named properties change. Unknown and read-only properties (`id`,
/// `create_time`, `tag_ids`, …) are ignored; `utm_parameters` is accepted and not stored.
///
/// # Errors
/// A message for the first invalid property (400).
pub fn changes(body: &Map<String, Value>, mask: Option<&[String]>) -> Result<V2Changes, String> {
    if let Some(m) = mask {
        crate::v2::check_names("update_mask", m, UPDATE_MASK)?;
    }
    let keep = |name: &str| mask.is_none_or(|m| m.iter().any(|f| f == name));
    for (name, max) in V2_MAX_LENGTHS {
        if let Some(Value::String(s)) = body.get(*name) {
            check_text(name, s.trim(), *max)?;
        }
    }
    let mut v1 = Map::new();
    let copy = [
        "given_name",
        "family_name",
        "middle_name",
        "prefix",
        "suffix",
        "preferred_name",
        "job_title",
        "contact_type",
        "spouse_name",
        "time_zone",
        "preferred_locale",
        "website",
        "owner_id",
        "company",
        "custom_fields",
        "origin",
    ];
    for key in copy {
        if let Some(v) = body.get(key) {
            v1.insert(key.to_owned(), v.clone());
        }
    }
    for (v2, v1_name) in [
        ("birth_date", "birthday"),
        ("anniversary_date", "anniversary"),
        ("leadsource_id", "lead_source_id"),
    ] {
        if let Some(v) = body.get(v2) {
            v1.insert(v1_name.to_owned(), v.clone());
        }
    }
    if let Some(v) = body.get("source_type") {
        v1.insert(
            "source_type".to_owned(),
            v1_enum(v).unwrap_or(Value::String(String::new())),
        );
    }
    let items = |key: &str| -> Result<Option<Vec<Map<String, Value>>>, String> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|i| {
                    i.as_object()
                        .cloned()
                        .ok_or_else(|| format!("{key} must be a list of objects"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(format!("{key} must be a list")),
        }
    };
    if let Some(list) = items("email_addresses")? {
        let claims_email1 = list
            .iter()
            .any(|i| slot(i).as_ref().and_then(Value::as_str) == Some("EMAIL1"));
        let mut out = Vec::new();
        for (n, item) in list.iter().enumerate() {
            let field = slot(item);
            let is_email1 = match field.as_ref().and_then(Value::as_str) {
                Some(f) => f.eq_ignore_ascii_case("EMAIL1"),
                None => n == 0 && !claims_email1,
            };
            let max = if is_email1 { 75 } else { 100 };
            if let Some(Value::String(e)) = item.get("email") {
                check_text("email_addresses.email", e.trim(), max)?;
            }
            if is_email1 && let Some(reason) = item.get("opt_in_reason").filter(|r| !r.is_null()) {
                v1.insert("opt_in_reason".to_owned(), reason.clone());
            }
            let mut o = Map::new();
            if let Some(e) = item.get("email") {
                o.insert("email".to_owned(), e.clone());
            }
            if let Some(f) = field {
                o.insert("field".to_owned(), f);
            }
            out.push(Value::Object(o));
        }
        v1.insert("email_addresses".to_owned(), Value::Array(out));
    }
    for key in ["phone_numbers", "fax_numbers"] {
        if let Some(list) = items(key)? {
            let out = list
                .iter()
                .map(|item| {
                    let mut o: Map<String, Value> = item
                        .iter()
                        .filter(|(k, _)| matches!(k.as_str(), "number" | "extension" | "type"))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    if let Some(f) = slot(item) {
                        o.insert("field".to_owned(), f);
                    }
                    Value::Object(o)
                })
                .collect();
            v1.insert(key.to_owned(), Value::Array(out));
        }
    }
    if let Some(list) = items("addresses")? {
        let out = list.iter().map(|i| Value::Object(v1_address(i))).collect();
        v1.insert("addresses".to_owned(), Value::Array(out));
    }
    if let Some(list) = items("social_accounts")? {
        let out = list
            .iter()
            .map(|item| {
                let mut o = Map::new();
                if let Some(n) = item.get("name") {
                    o.insert("name".to_owned(), n.clone());
                }
                if let Some(t) = item.get("type").and_then(v1_enum) {
                    o.insert("type".to_owned(), t);
                }
                Value::Object(o)
            })
            .collect();
        v1.insert("social_accounts".to_owned(), Value::Array(out));
    }
    let v1_body: ContactBody =
        serde_json::from_value(Value::Object(v1)).map_err(|e| format!("Invalid contact: {e}"))?;
    let v1_mask: Option<Vec<String>> = mask.map(|m| {
        m.iter()
            .flat_map(|n| v1_mask_names(n).iter().map(|s| (*s).to_owned()))
            .collect()
    });
    let mut changes = v1_body.into_changes(v1_mask.as_deref())?;
    changes.replace_lists = true;
    let mut extras = Vec::new();
    for (name, max) in V2_EXTRA_FIELDS {
        if !keep(name) {
            continue;
        }
        let change = match body.get(*name) {
            None => Field::Absent,
            Some(Value::Null) => Field::Null,
            Some(Value::String(s)) if s.trim().is_empty() => Field::Null,
            Some(Value::String(s)) => {
                check_text(name, s.trim(), *max)?;
                Field::Set(s.trim().to_owned())
            }
            Some(_) => return Err(format!("{name} must be a string")),
        };
        extras.push((*name, change));
    }
    Ok(V2Changes { changes, extras })
}

/// What a v2 contact needs besides its document.
#[derive(Debug, Clone, PartialEq)]
pub struct V2Meta<'a> {
    /// Record id.
    pub id: i64,
    /// Record creation time.
    pub created_at: OffsetDateTime,
    /// Record update time.
    pub updated_at: OffsetDateTime,
    /// Applied tag ids, ascending.
    pub tag_ids: &'a [i64],
    /// Name of the company `company_id` points at, if it exists.
    pub company_name: Option<&'a str>,
    /// The account's status of addresses (folded) other than `EMAIL1`, where it has one.
    pub address_status: &'a HashMap<String, EmailStatus>,
    /// The contact's links in v2's `Link` shape (`crm::link`), when asked for.
    pub links: &'a [Value],
}

fn s(v: Option<&str>) -> Value {
    v.map_or(Value::Null, |s| Value::String(s.to_owned()))
}

fn id_str(v: Option<i64>) -> Value {
    v.map_or(Value::Null, |i| Value::String(i.to_string()))
}

/// ISO 3166-2 code of an address's region, when keapsake knows the subdivision (`Arizona` in
/// `USA` → `US-AZ`) or the region already is such a code.
fn region_code(country: Option<&str>, region: Option<&str>) -> Option<String> {
    let region = region?.trim();
    let list = locale::provinces(country?);
    list.iter()
        .find(|(c, n)| n.eq_ignore_ascii_case(region) || c.eq_ignore_ascii_case(region))
        .map(|(c, _)| (*c).to_owned())
}

fn country_name(code: Option<&str>) -> Option<&'static str> {
    let code = code?;
    locale::COUNTRIES
        .iter()
        .find(|(a3, _, _)| a3.eq_ignore_ascii_case(code))
        .map(|(_, _, name)| *name)
}

/// A best-effort E.164 form, as v1 shows it: only for numbers written with a leading `+` and
/// 8–15 digits.
fn e164(number: &str) -> Option<String> {
    let rest = number.trim().strip_prefix('+')?;
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))
    {
        return None;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    (8..=15)
        .contains(&digits.len())
        .then(|| format!("+{digits}"))
}

/// Removes `null` members (proto3-JSON style: absent fields are omitted).
fn compact(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, compact(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(compact).collect()),
        other => other,
    }
}

impl ContactDoc {
    /// The status of one of this contact's addresses, for v2: `EMAIL1`'s is the contact's
    /// `email_status`; another slot's is the account's status of that address, else
    /// `NonMarketable` (an address added without consent).
    fn address_status_v2(
        &self,
        field: EmailField,
        email: &str,
        known: &HashMap<String, EmailStatus>,
    ) -> EmailStatus {
        if field == EmailField::Email1 {
            return self
                .effective_email_status()
                .unwrap_or(EmailStatus::NonMarketable);
        }
        known
            .get(&fold(email.trim()))
            .copied()
            .unwrap_or(EmailStatus::NonMarketable)
    }

    /// One v2 field by name, or `None` for a name that is not a contact field.
    fn v2_field(&self, name: &str, meta: &V2Meta<'_>) -> Option<Value> {
        Some(match name {
            "id" => json!(meta.id.to_string()),
            "given_name" => s(self.given_name.as_deref()),
            "family_name" => s(self.family_name.as_deref()),
            "middle_name" => s(self.middle_name.as_deref()),
            "prefix" => s(self.prefix.as_deref()),
            "suffix" => s(self.suffix.as_deref()),
            "preferred_name" => s(self.preferred_name.as_deref()),
            "job_title" => s(self.job_title.as_deref()),
            "contact_type" => s(self.contact_type.as_deref()),
            "spouse_name" => s(self.spouse_name.as_deref()),
            "time_zone" => s(self.time_zone.as_deref()),
            "preferred_locale" => s(self.preferred_locale.as_deref()),
            "website" => s(self.website.as_deref()),
            "owner_id" => id_str(self.owner_id),
            "leadsource_id" => id_str(self.lead_source_id),
            "company" => match self.company_id {
                Some(id) => json!({"id": id.to_string(), "company_name": meta.company_name}),
                None => Value::Null,
            },
            "email_addresses" => Value::Array(
                self.email_addresses
                    .iter()
                    .map(|e| {
                        let st = self.address_status_v2(e.field, &e.email, meta.address_status);
                        let reason = (e.field == EmailField::Email1)
                            .then_some(self.opt_in_reason.as_deref())
                            .flatten();
                        json!({
                            "email": e.email,
                            "field": e.field,
                            "email_opt_status": email_status_v2(st),
                            "is_opt_in": st.is_opted_in(),
                            "opt_in_reason": reason,
                        })
                    })
                    .collect(),
            ),
            "phone_numbers" => Value::Array(
                self.phone_numbers
                    .iter()
                    .map(|p| {
                        json!({
                            "number": p.number,
                            "extension": p.extension,
                            "type": p.kind,
                            "field": p.field,
                            "number_e164": e164(&p.number),
                        })
                    })
                    .collect(),
            ),
            "fax_numbers" => Value::Array(
                self.fax_numbers
                    .iter()
                    .map(|f| json!({"number": f.number, "type": f.kind, "field": f.field}))
                    .collect(),
            ),
            "addresses" => Value::Array(
                self.addresses
                    .iter()
                    .map(|a| {
                        json!({
                            "field": a.field,
                            "line1": a.line1,
                            "line2": a.line2,
                            "locality": a.locality,
                            "region": a.region,
                            "region_code": region_code(a.country_code.as_deref(), a.region.as_deref()),
                            "country": country_name(a.country_code.as_deref()),
                            "country_code": a.country_code,
                            "postal_code": a.postal_code,
                            "zip_code": a.zip_code,
                            "zip_four": a.zip_four,
                        })
                    })
                    .collect(),
            ),
            "social_accounts" => Value::Array(
                self.social_accounts
                    .iter()
                    .map(|s| json!({"name": s.name, "type": s.kind.map(social_type_v2)}))
                    .collect(),
            ),
            "custom_fields" => Value::Array(
                self.custom_fields
                    .iter()
                    .map(|c| json!({"id": c.id.to_string(), "content": c.content}))
                    .collect(),
            ),
            "tag_ids" => Value::Array(
                meta.tag_ids
                    .iter()
                    .map(|t| Value::String(t.to_string()))
                    .collect(),
            ),
            "groups" => {
                if meta.tag_ids.is_empty() {
                    Value::Null
                } else {
                    let ids: Vec<String> = meta.tag_ids.iter().map(i64::to_string).collect();
                    Value::String(ids.join(","))
                }
            }
            "source_type" => s(self.source_type.map(source_type_v2)),
            "birth_date" => s(self
                .birthday
                .map(|b| super::date::format_date(b.date()))
                .as_deref()),
            "anniversary_date" => s(self.anniversary.map(super::date::format_date).as_deref()),
            "origin" => match &self.origin {
                Some(OriginEntry { date, ip_address }) => json!({
                    "date": date.map(format_time),
                    "ip_address": ip_address,
                }),
                None => Value::Null,
            },
            "create_time" => json!(format_time(meta.created_at)),
            "update_time" => json!(format_time(meta.updated_at)),
            "links" => Value::Array(meta.links.to_vec()),
            // keapsake stores no UTM values yet.
            "utm_parameters" => json!([]),
            // keapsake does no lead scoring and keeps no creating user on contacts; notes are
            // their own resource.
            "score_value" | "account_id" | "created_by" | "last_updated_by" | "notes" => {
                Value::Null
            }
            other => match V2_EXTRA_FIELDS.iter().find(|(n, _)| *n == other) {
                Some((n, _)) => self.extra.get(*n).cloned().unwrap_or(Value::Null),
                None => return None,
            },
        })
    }

    /// The v2 JSON of this contact with the fields named (unknown names are skipped: the
    /// caller checks `fields` first); `null` members are omitted.
    pub fn render_v2(&self, meta: &V2Meta<'_>, fields: &[&str]) -> Value {
        let mut out = Map::new();
        for name in fields {
            if out.contains_key(*name) {
                continue;
            }
            if let Some(v) = self.v2_field(name, meta) {
                out.insert((*name).to_owned(), v);
            }
        }
        compact(Value::Object(out))
    }

    /// Folds a duplicate into this contact (`POST /contacts:merge`): every field this contact
    /// lacks is taken from `dup` — scalars, list slots not in use, custom fields not set, social
    /// accounts not listed, origin, v2-only members. Nothing this contact has is overwritten.
    /// When `EMAIL1` comes from the duplicate, so does its status.
    pub fn merge_from(&mut self, dup: &ContactDoc) {
        fn fill<T: Clone>(slot: &mut Option<T>, from: &Option<T>) {
            if slot.is_none() {
                slot.clone_from(from);
            }
        }
        let had_email1 = self.email1().is_some();
        fill(&mut self.given_name, &dup.given_name);
        fill(&mut self.family_name, &dup.family_name);
        fill(&mut self.middle_name, &dup.middle_name);
        fill(&mut self.company_id, &dup.company_id);
        fill(&mut self.owner_id, &dup.owner_id);
        fill(&mut self.birthday, &dup.birthday);
        fill(&mut self.anniversary, &dup.anniversary);
        fill(&mut self.contact_type, &dup.contact_type);
        fill(&mut self.prefix, &dup.prefix);
        fill(&mut self.suffix, &dup.suffix);
        fill(&mut self.preferred_name, &dup.preferred_name);
        fill(&mut self.spouse_name, &dup.spouse_name);
        fill(&mut self.website, &dup.website);
        fill(&mut self.time_zone, &dup.time_zone);
        fill(&mut self.preferred_locale, &dup.preferred_locale);
        fill(&mut self.source_type, &dup.source_type);
        fill(&mut self.job_title, &dup.job_title);
        fill(&mut self.lead_source_id, &dup.lead_source_id);
        fill(&mut self.origin, &dup.origin);
        for e in &dup.email_addresses {
            if !self.email_addresses.iter().any(|x| x.field == e.field) {
                self.email_addresses.push(e.clone());
            }
        }
        self.email_addresses.sort_by_key(|e| e.field);
        for p in &dup.phone_numbers {
            if !self.phone_numbers.iter().any(|x| x.field == p.field) {
                self.phone_numbers.push(p.clone());
            }
        }
        self.phone_numbers.sort_by_key(|p| p.field);
        for f in &dup.fax_numbers {
            if !self.fax_numbers.iter().any(|x| x.field == f.field) {
                self.fax_numbers.push(f.clone());
            }
        }
        self.fax_numbers.sort_by_key(|f| f.field);
        for a in &dup.addresses {
            if !self.addresses.iter().any(|x| x.field == a.field) {
                self.addresses.push(a.clone());
            }
        }
        self.addresses.sort_by_key(|a| a.field);
        for c in &dup.custom_fields {
            if !self.custom_fields.iter().any(|x| x.id == c.id) {
                self.custom_fields.push(c.clone());
            }
        }
        for s in &dup.social_accounts {
            if !self.social_accounts.contains(s) {
                self.social_accounts.push(s.clone());
            }
        }
        for (k, v) in &dup.extra {
            if !self.extra.contains_key(k) {
                self.extra.insert(k.clone(), v.clone());
            }
        }
        if !had_email1 && self.email1().is_some() {
            self.email_status = dup.email_status;
            self.opt_in_reason.clone_from(&dup.opt_in_reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::contact::{AddressField, PhoneField};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2024-11-07 20:35:13.217 UTC);

    fn v2(v: Value, mask: Option<&[String]>) -> Result<V2Changes, String> {
        changes(v.as_object().expect("an object"), mask)
    }

    fn created(v: Value) -> ContactDoc {
        let ch = v2(v, None).expect("valid");
        let mut doc = ContactDoc::create(&ch.changes, NOW).expect("created");
        ch.apply_extras(&mut doc);
        doc
    }

    fn render(doc: &ContactDoc, fields: &[&str]) -> Value {
        let known = HashMap::new();
        doc.render_v2(
            &V2Meta {
                id: 7,
                created_at: NOW,
                updated_at: NOW,
                tag_ids: &[3, 5],
                company_name: Some("Acme"),
                address_status: &known,
                links: &[],
            },
            fields,
        )
    }

    #[test]
    fn a_v2_body_writes_the_v1_document() {
        let doc = created(json!({
            "given_name": "Ada",
            "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1", "opt_in_reason": "Web form"}],
            "phone_numbers": [{"number": "+1 555 0100", "field": "PHONE_NUMBER_FIELD_UNSPECIFIED", "number_e164": "x"}],
            "addresses": [{"field": "BILLING", "line1": "1 Main", "region_code": "US-AZ", "country_code": "USA", "country": "ignored"}],
            "social_accounts": [{"name": "ada", "type": "LINKED_IN"}],
            "source_type": "FORM_API_HOSTED",
            "birth_date": "1815-12-10",
            "anniversary_date": "1835-07-08",
            "leadsource_id": "12",
            "owner_id": "4",
            "company": {"id": "9"},
            "custom_fields": [{"id": "3", "content": "x"}],
            "referral_code": "R1",
            "id": "999",
            "create_time": "ignored"
        }));
        assert_eq!(doc.email_status, Some(EmailStatus::SingleOptIn));
        assert_eq!(doc.opt_in_reason.as_deref(), Some("Web form"));
        assert_eq!(doc.phone_numbers[0].field, PhoneField::Phone1);
        assert_eq!(doc.addresses[0].field, AddressField::Billing);
        assert_eq!(doc.addresses[0].region.as_deref(), Some("Arizona"));
        assert_eq!(doc.social_accounts[0].kind, Some(SocialType::LinkedIn));
        assert_eq!(doc.source_type, Some(SourceType::FormApiHosted));
        assert_eq!(doc.lead_source_id, Some(12));
        assert_eq!(doc.owner_id, Some(4));
        assert_eq!(doc.company_id, Some(9));
        assert_eq!(doc.custom_fields[0].id, 3);
        assert_eq!(doc.extra.get("referral_code"), Some(&json!("R1")));

        let v = render(&doc, &single_fields());
        assert_eq!(v["id"], "7");
        assert_eq!(v["owner_id"], "4");
        assert_eq!(v["leadsource_id"], "12");
        assert_eq!(v["company"], json!({"id": "9", "company_name": "Acme"}));
        assert_eq!(v["tag_ids"], json!(["3", "5"]));
        assert_eq!(v["groups"], "3,5");
        assert_eq!(v["source_type"], "FORM_API_HOSTED");
        assert_eq!(v["birth_date"], "1815-12-10");
        assert_eq!(v["anniversary_date"], "1835-07-08");
        assert_eq!(v["create_time"], "2024-11-07T20:35:13.217Z");
        assert_eq!(v["referral_code"], "R1");
        assert_eq!(
            v["email_addresses"],
            json!([{"email": "ada@example.com", "field": "EMAIL1", "email_opt_status": "SINGLE_OPT_IN",
                    "is_opt_in": true, "opt_in_reason": "Web form"}])
        );
        assert_eq!(v["phone_numbers"][0]["number_e164"], "+15550100");
        assert_eq!(v["addresses"][0]["region_code"], "US-AZ");
        assert_eq!(v["addresses"][0]["region"], "Arizona");
        assert_eq!(v["addresses"][0]["country"], "United States");
        assert_eq!(v["social_accounts"][0]["type"], "LINKED_IN");
        assert!(v.get("custom_fields").is_none(), "optional by default");
        assert!(v.get("middle_name").is_none(), "null members are omitted");
        let v = render(&doc, &["id", "custom_fields"]);
        assert_eq!(
            v,
            json!({"id": "7", "custom_fields": [{"id": "3", "content": "x"}]})
        );
    }

    #[test]
    fn lists_sent_replace_the_stored_ones() {
        let mut doc = created(json!({
            "email_addresses": [{"email": "a@example.com", "field": "EMAIL1"}, {"email": "b@example.com", "field": "EMAIL2"}],
            "custom_fields": [{"id": "1", "content": "x"}, {"id": "2", "content": "y"}],
        }));
        let ch = v2(
            json!({"email_addresses": [{"email": "c@example.com", "field": "EMAIL2"}],
                   "custom_fields": [{"id": "2", "content": "z"}]}),
            None,
        )
        .expect("valid");
        doc.update(&ch.changes, NOW).expect("updated");
        assert_eq!(doc.email_addresses.len(), 1);
        assert_eq!(doc.email_addresses[0].email, "c@example.com");
        assert_eq!(doc.email_addresses[0].field, EmailField::Email2);
        assert_eq!(doc.custom_fields.len(), 1);
        assert_eq!(doc.custom_fields[0].content, json!("z"));
        // `[]` clears — and an empty contact is refused like on v1.
        let ch = v2(json!({"email_addresses": []}), None).expect("valid");
        assert!(doc.clone().update(&ch.changes, NOW).is_err());
    }

    #[test]
    fn the_update_mask_limits_what_changes() {
        let mut doc = created(json!({"given_name": "Ada", "family_name": "L",
            "email_addresses": [{"email": "a@example.com"}], "assistant_name": "Bob"}));
        let mask = vec!["family_name".to_owned(), "assistant_name".to_owned()];
        let ch = v2(
            json!({"given_name": "X", "family_name": "Lovelace", "assistant_name": null}),
            Some(&mask),
        )
        .expect("valid");
        doc.update(&ch.changes, NOW).expect("updated");
        ch.apply_extras(&mut doc);
        assert_eq!(doc.given_name.as_deref(), Some("Ada"));
        assert_eq!(doc.family_name.as_deref(), Some("Lovelace"));
        assert!(!doc.extra.contains_key("assistant_name"));
        let err = v2(json!({}), Some(&["nope".to_owned()])).expect_err("unknown");
        assert!(err.contains("\"nope\""), "{err}");
        // Read-only names are accepted and change nothing.
        assert!(v2(json!({"id": "1"}), Some(&["id".to_owned()])).is_ok());
    }

    #[test]
    fn v2_limits_and_bad_ids_are_refused() {
        assert!(v2(json!({"given_name": "x".repeat(41)}), None).is_err());
        assert!(v2(json!({"assistant_phone": "1".repeat(16)}), None).is_err());
        assert!(
            v2(
                json!({"email_addresses": [{"email": format!("{}@example.com", "a".repeat(70)), "field": "EMAIL1"}]}),
                None
            )
            .is_err()
        );
        assert!(v2(json!({"owner_id": "abc"}), None).is_err());
        assert!(v2(json!({"company": {"id": "x"}}), None).is_err());
        assert!(v2(json!({"custom_fields": [{"id": "x", "content": 1}]}), None).is_err());
        assert!(v2(json!({"source_type": "NOPE"}), None).is_err());
        assert!(v2(json!({"email_addresses": "a@b.co"}), None).is_err());
        // The zero values are "not sent".
        let ch = v2(json!({"source_type": "SOURCE_TYPE_UNSPECIFIED"}), None).expect("ok");
        assert_eq!(ch.changes.source_type, Field::Null);
    }

    #[test]
    fn other_slots_show_the_account_status_of_their_address() {
        let doc = created(json!({"email_addresses": [
            {"email": "a@example.com", "field": "EMAIL1"},
            {"email": "B@example.com", "field": "EMAIL2"},
            {"email": "c@example.com", "field": "EMAIL3"}]}));
        let known = HashMap::from([("b@example.com".to_owned(), EmailStatus::HardBounce)]);
        let v = doc.render_v2(
            &V2Meta {
                id: 1,
                created_at: NOW,
                updated_at: NOW,
                tag_ids: &[],
                company_name: None,
                address_status: &known,
                links: &[],
            },
            &["email_addresses", "groups", "tag_ids"],
        );
        let st: Vec<&str> = v["email_addresses"]
            .as_array()
            .expect("list")
            .iter()
            .map(|e| e["email_opt_status"].as_str().expect("status"))
            .collect();
        assert_eq!(st, ["NON_MARKETABLE", "HARD_BOUNCE", "NON_MARKETABLE"]);
        assert!(v.get("groups").is_none());
        assert_eq!(v["tag_ids"], json!([]));
    }

    #[test]
    fn merging_fills_only_what_is_missing() {
        let mut keep = created(
            json!({"given_name": "Ada", "email_addresses": [{"email": "a@example.com", "field": "EMAIL2"}]}),
        );
        let dup = created(json!({"given_name": "Augusta", "family_name": "King",
            "email_addresses": [{"email": "d@example.com", "field": "EMAIL1", "opt_in_reason": "form"},
                                {"email": "e@example.com", "field": "EMAIL2"}],
            "phone_numbers": [{"number": "555"}], "referral_code": "R"}));
        keep.merge_from(&dup);
        assert_eq!(keep.given_name.as_deref(), Some("Ada"));
        assert_eq!(keep.family_name.as_deref(), Some("King"));
        let emails: Vec<&str> = keep
            .email_addresses
            .iter()
            .map(|e| e.email.as_str())
            .collect();
        assert_eq!(emails, ["d@example.com", "a@example.com"]);
        assert_eq!(keep.email_status, Some(EmailStatus::SingleOptIn));
        assert_eq!(keep.phone_numbers.len(), 1);
        assert_eq!(keep.extra.get("referral_code"), Some(&json!("R")));
    }
}
