//! Opportunities (`keap/rest-v1.md` §6): the stored document ([`OpportunityDoc`]), what a
//! client may send ([`OpportunityBody`] → [`OpportunityChanges`]) for create, `PUT` (replace)
//! and `PATCH`, the default stage pipeline every account starts with ([`STAGES`]), the keys,
//! `search_term` matching and the v1 shape.
//!
//! Index layout:
//!
//! | key | holds | used by |
//! |---|---|---|
//! | `n0` | contact id | deleting a contact can find its opportunities |
//! | `n1` | user id | `user_id=` |
//! | `n2` | stage id | `stage_id=`, stage counts of `/opportunity/stage_pipeline` |
//! | `k0` | title, folded | `order=opportunity_name` |
//! | `k1` | next action date, v1 form (sorts as time) | `order=next_action` |
//!
//! `order=contact_name` and `search_term` read the contacts' current documents, so the server
//! sorts and filters those in memory.

use super::{
    ContactSummary, LenientF64, MAX_BODY, MAX_CUSTOM_FIELDS, MAX_NAME, MAX_TEXT, Mode, RefItem,
    contains_folded, custom_values, datetime, id_field, merge_custom_fields, opt_datetime, opt_str,
    ref_field, text,
};
use crate::crm::contact::{CustomFieldEntry, CustomFieldItem};
use crate::crm::{Field, LenientI64, date, fold};
use crate::records::{Column, Keys};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// Integer key of the contact id.
pub const CONTACT_KEY: usize = 0;
/// Integer key of the user id.
pub const USER_KEY: usize = 1;
/// Integer key of the stage id.
pub const STAGE_KEY: usize = 2;
/// Text key of the folded title.
pub const TITLE_KEY: usize = 0;
/// Text key of the next action date.
pub const NEXT_ACTION_KEY: usize = 1;

/// The 400 message for an opportunity without a title.
pub const TITLE_REQUIRED: &str = "opportunity_title is required";
/// The 400 message for an opportunity without a contact.
pub const CONTACT_REQUIRED: &str = "contact.id is required";
/// The 400 message for an opportunity without a stage.
pub const STAGE_REQUIRED: &str = "stage.id is required";

/// A stage of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    /// Stage id.
    pub id: i64,
    /// Name.
    pub name: &'static str,
    /// Position in the pipeline, from 1.
    pub order: i64,
    /// Win probability, percent.
    pub probability: i64,
    /// Days an opportunity is expected to stay.
    pub target_num_days: i64,
    /// New opportunities start here.
    pub is_default: bool,
    /// Won or lost: the end of the pipeline.
    pub end_stage: bool,
}

/// The pipeline every account has. Keap lets an administrator edit stages in its web UI; v1
/// has no endpoint for that and keapsake has no UI, so the pipeline is fixed (the usual sales
/// stages, ending in Won and Lost).
pub const STAGES: &[Stage] = &[
    Stage {
        id: 1,
        name: "New Opportunity",
        order: 1,
        probability: 10,
        target_num_days: 7,
        is_default: true,
        end_stage: false,
    },
    Stage {
        id: 2,
        name: "Qualified",
        order: 2,
        probability: 25,
        target_num_days: 14,
        is_default: false,
        end_stage: false,
    },
    Stage {
        id: 3,
        name: "Proposal Sent",
        order: 3,
        probability: 50,
        target_num_days: 14,
        is_default: false,
        end_stage: false,
    },
    Stage {
        id: 4,
        name: "Negotiation",
        order: 4,
        probability: 75,
        target_num_days: 14,
        is_default: false,
        end_stage: false,
    },
    Stage {
        id: 5,
        name: "Won",
        order: 5,
        probability: 100,
        target_num_days: 0,
        is_default: false,
        end_stage: true,
    },
    Stage {
        id: 6,
        name: "Lost",
        order: 6,
        probability: 0,
        target_num_days: 0,
        is_default: false,
        end_stage: true,
    },
];

/// The stage with this id.
pub fn stage(id: i64) -> Option<&'static Stage> {
    STAGES.iter().find(|s| s.id == id)
}

impl Stage {
    /// The `stage` object of an opportunity (`SimpleOpportunityStage`).
    pub fn render(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "details": {
                "stage_order": self.order,
                "probability": self.probability,
                "target_num_days": self.target_num_days,
                "check_list_items": [],
            },
            "reasons": [],
        })
    }

    /// An item of `GET /opportunity/stage_pipeline`, with the number of the account's
    /// opportunities in the stage.
    pub fn render_pipeline(&self, stage_count: i64) -> Value {
        json!({
            "stage_id": self.id,
            "stage_name": self.name,
            "stage_order": self.order,
            "is_default": self.is_default,
            "end_stage": self.end_stage,
            "stage_count": stage_count,
        })
    }
}

/// An opportunity as stored (the `data` of a [`crate::records::RecordKind::Opportunity`]
/// record). The id and the creation and update times live on the record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OpportunityDoc {
    /// Title (never empty).
    pub opportunity_title: String,
    /// Contact.
    pub contact_id: i64,
    /// Stage (one of [`STAGES`]).
    pub stage_id: i64,
    /// Owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// Estimated close.
    #[serde(with = "date::opt_datetime", skip_serializing_if = "Option::is_none")]
    pub estimated_close_date: Option<OffsetDateTime>,
    /// Next action.
    #[serde(with = "date::opt_datetime", skip_serializing_if = "Option::is_none")]
    pub next_action_date: Option<OffsetDateTime>,
    /// Next action notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_action_notes: Option<String>,
    /// Notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opportunity_notes: Option<String>,
    /// Projected revenue, low.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projected_revenue_low: Option<f64>,
    /// Projected revenue, high.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projected_revenue_high: Option<f64>,
    /// Include in forecast (int32, `0`/`1` in practice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_in_forecast: Option<i64>,
    /// Affiliate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affiliate_id: Option<i64>,
    /// Custom field values, at most one per id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_fields: Vec<CustomFieldEntry>,
    /// Fields this version does not know, kept untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `include_in_forecast` as sent: an int32, or a boolean (`true` = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forecast(pub i64);

impl<'de> Deserialize<'de> for Forecast {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::Bool(b) => Ok(Self(i64::from(b))),
            Value::Number(n) => n
                .as_i64()
                .filter(|i| i32::try_from(*i).is_ok())
                .map(Self)
                .ok_or_else(|| D::Error::custom("include_in_forecast must be a 32-bit integer")),
            _ => Err(D::Error::custom("include_in_forecast must be an integer")),
        }
    }
}

/// An opportunity body (`UpdateOpportunityRequest`), as sent. Unknown and read-only fields
/// (`date_created`, the contact's and user's names, the stage's details, …) are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[allow(
    missing_docs,
    reason = "each field is the v1 field of the same name (rest-v1.md §6)"
)]
pub struct OpportunityBody {
    /// Only read by `PUT /opportunities`, which names the opportunity in the body.
    pub id: Field<LenientI64>,
    pub opportunity_title: Field<String>,
    pub contact: Field<RefItem>,
    pub stage: Field<RefItem>,
    pub user: Field<RefItem>,
    pub estimated_close_date: Field<String>,
    pub next_action_date: Field<String>,
    pub next_action_notes: Field<String>,
    pub opportunity_notes: Field<String>,
    pub projected_revenue_low: Field<LenientF64>,
    pub projected_revenue_high: Field<LenientF64>,
    pub include_in_forecast: Field<Forecast>,
    pub affiliate_id: Field<LenientI64>,
    pub custom_fields: Field<Vec<CustomFieldItem>>,
}

/// A validated change to an opportunity.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(
    missing_docs,
    reason = "each field is the v1 field of the same name (rest-v1.md §6)"
)]
pub struct OpportunityChanges {
    pub opportunity_title: Field<String>,
    pub contact_id: Field<i64>,
    pub stage_id: Field<i64>,
    pub user_id: Field<i64>,
    pub estimated_close_date: Field<OffsetDateTime>,
    pub next_action_date: Field<OffsetDateTime>,
    pub next_action_notes: Field<String>,
    pub opportunity_notes: Field<String>,
    pub projected_revenue_low: Field<f64>,
    pub projected_revenue_high: Field<f64>,
    pub include_in_forecast: Field<i64>,
    pub affiliate_id: Field<i64>,
    /// `(custom field id, content)`; `Value::Null` clears; replaces all values on `PUT`.
    pub custom_fields: Option<Vec<(i64, Value)>>,
    /// `PUT` replaces the custom fields instead of merging.
    pub replace_custom_fields: bool,
}

fn money(f: Field<LenientF64>) -> Field<f64> {
    match f {
        Field::Absent => Field::Absent,
        Field::Null => Field::Null,
        Field::Set(LenientF64(v)) => Field::Set(v),
    }
}

impl OpportunityBody {
    /// The `id` named in the body (`PUT /opportunities`).
    pub fn id(&self) -> Option<i64> {
        self.id.value().map(|i| i.0)
    }

    /// Validates the body for `mode`: create and replace need a title, a contact and a stage;
    /// the stage must be one of [`STAGES`]; fields not sent are cleared on replace.
    ///
    /// # Errors
    /// A message for the first invalid field (400).
    pub fn into_changes(self, mode: Mode) -> Result<OpportunityChanges, String> {
        let b = self;
        let title = mode.absent(text(b.opportunity_title, "opportunity_title", MAX_NAME)?);
        if title == Field::Null {
            return Err(TITLE_REQUIRED.to_owned());
        }
        let contact_id = mode.absent(ref_field(b.contact));
        if contact_id == Field::Null {
            return Err(CONTACT_REQUIRED.to_owned());
        }
        let stage_id = mode.absent(ref_field(b.stage));
        match stage_id {
            Field::Null => return Err(STAGE_REQUIRED.to_owned()),
            Field::Set(s) if stage(s).is_none() => {
                return Err(format!("Stage {s} does not exist"));
            }
            _ => {}
        }
        let custom_fields = match custom_values(b.custom_fields)? {
            None if mode == Mode::Replace => Some(Vec::new()),
            other => other,
        };
        Ok(OpportunityChanges {
            opportunity_title: title,
            contact_id,
            stage_id,
            user_id: mode.absent(ref_field(b.user)),
            estimated_close_date: mode
                .absent(datetime(b.estimated_close_date, "estimated_close_date")?),
            next_action_date: mode.absent(datetime(b.next_action_date, "next_action_date")?),
            next_action_notes: mode.absent(text(
                b.next_action_notes,
                "next_action_notes",
                MAX_TEXT,
            )?),
            opportunity_notes: mode.absent(text(
                b.opportunity_notes,
                "opportunity_notes",
                MAX_BODY,
            )?),
            projected_revenue_low: mode.absent(money(b.projected_revenue_low)),
            projected_revenue_high: mode.absent(money(b.projected_revenue_high)),
            include_in_forecast: mode.absent(match b.include_in_forecast {
                Field::Absent => Field::Absent,
                Field::Null => Field::Null,
                Field::Set(Forecast(i)) => Field::Set(i),
            }),
            affiliate_id: mode.absent(id_field(b.affiliate_id)),
            custom_fields,
            replace_custom_fields: mode == Mode::Replace,
        })
    }
}

impl OpportunityChanges {
    /// The contact the change points at, if any.
    pub fn contact(&self) -> Option<i64> {
        self.contact_id.value().copied()
    }

    /// The user the change assigns, if any.
    pub fn user(&self) -> Option<i64> {
        self.user_id.value().copied()
    }

    /// Every custom field id the change sets (for an existence check before storing).
    pub fn custom_field_ids(&self) -> Vec<i64> {
        self.custom_fields
            .iter()
            .flatten()
            .filter(|(_, v)| !v.is_null())
            .map(|(id, _)| *id)
            .collect()
    }
}

impl OpportunityDoc {
    /// Reads a stored document.
    ///
    /// # Errors
    /// When the stored JSON is not an opportunity (a bug, not bad input).
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Self::deserialize(v).map_err(|e| format!("stored opportunity is not readable: {e}"))
    }

    /// The document as stored JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// A new opportunity.
    ///
    /// # Errors
    /// As [`OpportunityDoc::update`].
    pub fn create(changes: &OpportunityChanges) -> Result<Self, String> {
        let mut doc = OpportunityDoc::default();
        doc.update(changes)?;
        Ok(doc)
    }

    /// Applies a change and checks the result.
    ///
    /// # Errors
    /// A missing title, contact or stage, or too many custom field values; the document must
    /// then be discarded.
    pub fn update(&mut self, ch: &OpportunityChanges) -> Result<(), String> {
        let mut title =
            (!self.opportunity_title.is_empty()).then(|| self.opportunity_title.clone());
        ch.opportunity_title.apply_to(&mut title);
        self.opportunity_title = title.unwrap_or_default();
        if let Some(c) = ch.contact() {
            self.contact_id = c;
        }
        if let Some(s) = ch.stage_id.value() {
            self.stage_id = *s;
        }
        ch.user_id.apply_to(&mut self.user_id);
        ch.estimated_close_date
            .apply_to(&mut self.estimated_close_date);
        ch.next_action_date.apply_to(&mut self.next_action_date);
        ch.next_action_notes.apply_to(&mut self.next_action_notes);
        ch.opportunity_notes.apply_to(&mut self.opportunity_notes);
        ch.projected_revenue_low
            .apply_to(&mut self.projected_revenue_low);
        ch.projected_revenue_high
            .apply_to(&mut self.projected_revenue_high);
        ch.include_in_forecast
            .apply_to(&mut self.include_in_forecast);
        ch.affiliate_id.apply_to(&mut self.affiliate_id);
        if ch.replace_custom_fields {
            self.custom_fields.clear();
        }
        if let Some(values) = &ch.custom_fields {
            merge_custom_fields(&mut self.custom_fields, values);
        }
        if self.opportunity_title.is_empty() {
            return Err(TITLE_REQUIRED.to_owned());
        }
        if self.contact_id <= 0 {
            return Err(CONTACT_REQUIRED.to_owned());
        }
        if stage(self.stage_id).is_none() {
            return Err(STAGE_REQUIRED.to_owned());
        }
        if self.custom_fields.len() > MAX_CUSTOM_FIELDS {
            return Err(format!(
                "an opportunity has at most {MAX_CUSTOM_FIELDS} custom field values"
            ));
        }
        Ok(())
    }

    /// The indexed keys (layout in the module docs).
    pub fn keys(&self) -> Keys {
        let mut keys = Keys::default();
        keys.int[CONTACT_KEY] = Some(self.contact_id);
        keys.int[USER_KEY] = self.user_id;
        keys.int[STAGE_KEY] = Some(self.stage_id);
        keys.text[TITLE_KEY] = Some(fold(self.opportunity_title.trim()));
        keys.text[NEXT_ACTION_KEY] = self.next_action_date.map(date::format_datetime);
        keys
    }

    /// Whether `search_term` (already folded) is found in the title or in the contact's given
    /// name, family name, company name or `EMAIL1` (the spec's list), ASCII case ignored.
    pub fn matches(&self, term: &str, contact: Option<&ContactSummary>) -> bool {
        if term.is_empty() || contains_folded(Some(&self.opportunity_title), term) {
            return true;
        }
        contact.is_some_and(|c| {
            [&c.first_name, &c.last_name, &c.company_name, &c.email]
                .iter()
                .any(|v| contains_folded(v.as_deref(), term))
        })
    }

    /// The v1 JSON (`Opportunity`): the default fields, plus `custom_fields` when named in
    /// `optional` or when `all` (write responses). `contact` is the contact's summary when it
    /// still exists; `user` the owner's first and last name when known.
    #[allow(
        clippy::too_many_arguments,
        reason = "the record's parts and its related objects"
    )]
    pub fn render(
        &self,
        id: i64,
        created: OffsetDateTime,
        updated: OffsetDateTime,
        contact: Option<&ContactSummary>,
        user: Option<(&str, &str)>,
        optional: &[String],
        all: bool,
    ) -> Value {
        let contact = match contact {
            Some(c) if c.id == self.contact_id => json!({
                "id": c.id,
                "first_name": c.first_name,
                "last_name": c.last_name,
                "email": c.email,
                "company_name": c.company_name,
                "job_title": c.job_title,
                "phone_number": c.phone_number,
            }),
            _ => json!({
                "id": self.contact_id, "first_name": null, "last_name": null, "email": null,
                "company_name": null, "job_title": null, "phone_number": null,
            }),
        };
        let stage = stage(self.stage_id).map_or_else(
            || json!({"id": self.stage_id, "name": null, "details": null, "reasons": []}),
            Stage::render,
        );
        let user = self.user_id.map(|uid| {
            json!({
                "id": uid,
                "first_name": user.map(|u| u.0),
                "last_name": user.map(|u| u.1),
            })
        });
        let mut v = json!({
            "id": id,
            "opportunity_title": self.opportunity_title,
            "contact": contact,
            "stage": stage,
            "user": user,
            "estimated_close_date": opt_datetime(self.estimated_close_date),
            "next_action_date": opt_datetime(self.next_action_date),
            "next_action_notes": opt_str(self.next_action_notes.as_deref()),
            "opportunity_notes": opt_str(self.opportunity_notes.as_deref()),
            "projected_revenue_low": self.projected_revenue_low,
            "projected_revenue_high": self.projected_revenue_high,
            "include_in_forecast": self.include_in_forecast,
            "affiliate_id": self.affiliate_id,
            "date_created": opt_datetime(Some(created)),
            "last_updated": opt_datetime(Some(updated)),
        });
        if (all || optional.iter().any(|o| o == "custom_fields"))
            && let Some(obj) = v.as_object_mut()
        {
            obj.insert("custom_fields".to_owned(), json!(self.custom_fields));
        }
        v
    }
}

/// Fields shown only when named in `optional_properties`.
pub const OPTIONAL_PROPERTIES: &[&str] = &["custom_fields"];

/// How `GET /opportunities` orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// By a stored column.
    Column(Column),
    /// By the contact's family then given name (in memory).
    ContactName,
}

/// The `order` values of `GET /opportunities` (any ASCII case): the spec's `next_action`,
/// `opportunity_name`, `contact_name`, `date_created`, plus `id`.
pub fn order(order: &str) -> Option<Order> {
    Some(match order.trim().to_ascii_lowercase().as_str() {
        "id" => Order::Column(Column::Id),
        "next_action" | "next_action_date" => Order::Column(Column::Text(NEXT_ACTION_KEY)),
        "opportunity_name" | "opportunity_title" => Order::Column(Column::Text(TITLE_KEY)),
        "date_created" => Order::Column(Column::CreatedAt),
        "contact_name" => Order::ContactName,
        _ => return None,
    })
}

/// The sort key of `order=contact_name`: family name, then given name, folded.
pub fn contact_name_key(contact: Option<&ContactSummary>) -> (String, String) {
    contact.map_or_else(Default::default, |c| {
        (
            fold(c.last_name.as_deref().unwrap_or("").trim()),
            fold(c.first_name.as_deref().unwrap_or("").trim()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2024-11-07 20:35:13 UTC);

    fn changes(v: Value, mode: Mode) -> Result<OpportunityChanges, String> {
        serde_json::from_value::<OpportunityBody>(v)
            .map_err(|e| e.to_string())?
            .into_changes(mode)
    }

    fn deal() -> Value {
        json!({"opportunity_title": "Big deal", "contact": {"id": 4, "first_name": "ignored"}, "stage": {"id": 2, "name": "x"}})
    }

    #[test]
    fn create_needs_title_contact_and_a_known_stage() {
        for (drop, msg) in [
            ("opportunity_title", TITLE_REQUIRED),
            ("contact", CONTACT_REQUIRED),
            ("stage", STAGE_REQUIRED),
        ] {
            let mut b = deal();
            b.as_object_mut().expect("object").remove(drop);
            assert_eq!(changes(b, Mode::Create), Err(msg.to_owned()));
        }
        let mut b = deal();
        b["stage"] = json!({"id": 99});
        assert_eq!(
            changes(b, Mode::Create),
            Err("Stage 99 does not exist".to_owned())
        );
        // PATCH needs none of them, but cannot clear them.
        assert!(changes(json!({"opportunity_notes": "n"}), Mode::Patch).is_ok());
        assert!(changes(json!({"stage": null}), Mode::Patch).is_err());
        assert!(changes(json!({"include_in_forecast": 1u64 << 40}), Mode::Patch).is_err());
    }

    #[test]
    fn renders_like_keap() {
        let mut b = deal();
        b["projected_revenue_high"] = json!("2500.50");
        b["include_in_forecast"] = json!(true);
        b["user"] = json!({"id": 7});
        b["custom_fields"] = json!([{"id": 3, "content": "x"}]);
        let doc = OpportunityDoc::create(&changes(b, Mode::Create).expect("valid")).expect("valid");
        let c = ContactSummary {
            id: 4,
            first_name: Some("Ada".into()),
            company_name: Some("Acme".into()),
            ..ContactSummary::default()
        };
        let v = doc.render(1, NOW, NOW, Some(&c), Some(("Grace", "Hopper")), &[], false);
        assert_eq!(v["stage"]["name"], "Qualified");
        assert_eq!(v["stage"]["details"]["stage_order"], 2);
        assert_eq!(v["contact"]["company_name"], "Acme");
        assert_eq!(
            v["user"],
            json!({"id": 7, "first_name": "Grace", "last_name": "Hopper"})
        );
        assert_eq!(v["projected_revenue_high"], 2500.5);
        assert_eq!(v["include_in_forecast"], 1);
        assert!(v.get("custom_fields").is_none());
        let v = doc.render(1, NOW, NOW, None, None, &["custom_fields".into()], false);
        assert_eq!(v["custom_fields"], json!([{"id": 3, "content": "x"}]));
        assert_eq!(v["contact"]["id"], 4);
        assert_eq!(v["user"]["first_name"], Value::Null);
    }

    #[test]
    fn replace_clears_and_search_matches_contact_fields() {
        let mut b = deal();
        b["opportunity_notes"] = json!("n");
        b["custom_fields"] = json!([{"id": 3, "content": "x"}]);
        let mut doc =
            OpportunityDoc::create(&changes(b, Mode::Create).expect("valid")).expect("valid");
        doc.update(&changes(deal(), Mode::Replace).expect("valid"))
            .expect("valid");
        assert_eq!(doc.opportunity_notes, None);
        assert!(doc.custom_fields.is_empty());
        let c = ContactSummary {
            id: 4,
            email: Some("ADA@Example.com".into()),
            ..ContactSummary::default()
        };
        assert!(doc.matches("big", None));
        assert!(doc.matches("example", Some(&c)));
        assert!(!doc.matches("nobody", Some(&c)));
    }

    #[test]
    fn orders_and_stages() {
        assert_eq!(order("CONTACT_NAME"), Some(Order::ContactName));
        assert_eq!(
            order("next_action"),
            Some(Order::Column(Column::Text(NEXT_ACTION_KEY)))
        );
        assert_eq!(order("x"), None);
        assert_eq!(STAGES.iter().filter(|s| s.is_default).count(), 1);
        assert_eq!(stage(5).map(|s| s.end_stage), Some(true));
        assert_eq!(
            stage(1).expect("stage").render_pipeline(3),
            json!({"stage_id": 1, "stage_name": "New Opportunity", "stage_order": 1,
                   "is_default": true, "end_stage": false, "stage_count": 3})
        );
    }
}
