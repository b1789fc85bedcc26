//! Opportunities and the stage pipeline (`keap/rest-v1.md` §6).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{CustomFieldValue, id_ref, null_as_empty};
use crate::ids::{ContactId, CustomFieldId, OpportunityId, StageId, UserId};

/// The contact of an opportunity (`OpportunityContact`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpportunityContact {
    /// Contact id.
    pub id: ContactId,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Primary e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// The contact's company name.
    #[serde(default)]
    pub company_name: Option<String>,
    /// Job title.
    #[serde(default)]
    pub job_title: Option<String>,
    /// Primary phone number.
    #[serde(default)]
    pub phone_number: Option<String>,
}

/// A checklist item of a stage (`CheckListItemDetails`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckListItem {
    /// Item id.
    #[serde(default)]
    pub id: Option<i64>,
    /// Instance id.
    #[serde(default)]
    pub instance_id: Option<i64>,
    /// Position.
    #[serde(default)]
    pub item_order: Option<i64>,
    /// What to do.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether the item must be done to leave the stage.
    #[serde(default)]
    pub required: Option<bool>,
    /// When it was done.
    #[serde(default, with = "crate::date::option_datetime")]
    pub done_date: Option<OffsetDateTime>,
}

/// Details of a stage (`StageDetails`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageDetails {
    /// Position in the pipeline.
    #[serde(default)]
    pub stage_order: Option<i64>,
    /// Win probability, percent.
    #[serde(default)]
    pub probability: Option<i64>,
    /// Days an opportunity is expected to stay.
    #[serde(default)]
    pub target_num_days: Option<i64>,
    /// Checklist.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub check_list_items: Vec<CheckListItem>,
}

/// The stage of an opportunity (`SimpleOpportunityStage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpportunityStage {
    /// Stage id.
    pub id: StageId,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Details.
    #[serde(default)]
    pub details: Option<StageDetails>,
    /// Win or loss reasons.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub reasons: Vec<String>,
}

/// The owner of an opportunity (`SimpleUser`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpportunityUser {
    /// User id.
    pub id: UserId,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
}

/// An opportunity as Keap returns it (`keap/rest-v1.md` §6).
///
/// `custom_fields` is an optional property: `GET` includes it only when named in
/// `optional_properties`; create, replace and update answer with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Opportunity {
    /// Opportunity id.
    pub id: OpportunityId,
    /// Title.
    #[serde(default)]
    pub opportunity_title: Option<String>,
    /// The contact, with its current details.
    #[serde(default)]
    pub contact: Option<OpportunityContact>,
    /// The stage.
    #[serde(default)]
    pub stage: Option<OpportunityStage>,
    /// The owner.
    #[serde(default)]
    pub user: Option<OpportunityUser>,
    /// Estimated close.
    #[serde(default, with = "crate::date::option_datetime")]
    pub estimated_close_date: Option<OffsetDateTime>,
    /// Next action.
    #[serde(default, with = "crate::date::option_datetime")]
    pub next_action_date: Option<OffsetDateTime>,
    /// Next action notes.
    #[serde(default)]
    pub next_action_notes: Option<String>,
    /// Notes.
    #[serde(default)]
    pub opportunity_notes: Option<String>,
    /// Projected revenue, low.
    #[serde(default)]
    pub projected_revenue_low: Option<f64>,
    /// Projected revenue, high.
    #[serde(default)]
    pub projected_revenue_high: Option<f64>,
    /// Include in forecast (an int32, `0` or `1` in practice).
    #[serde(default)]
    pub include_in_forecast: Option<i64>,
    /// Affiliate id.
    #[serde(default)]
    pub affiliate_id: Option<i64>,
    /// Custom field values (optional property).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub custom_fields: Vec<CustomFieldValue>,
    /// Creation time.
    #[serde(default, with = "crate::date::option_datetime")]
    pub date_created: Option<OffsetDateTime>,
    /// Last change.
    #[serde(default, with = "crate::date::option_datetime")]
    pub last_updated: Option<OffsetDateTime>,
}

/// The writable fields of an opportunity, for create (title, contact and stage required),
/// replace (`PUT`: the same three required, the rest cleared when not set) and update
/// (`PATCH`: only what is set changes). Without a `user`, create and replace make the acting
/// user the owner.
///
/// ```
/// use keapsake_sdk::model::OpportunityInput;
/// let opp = OpportunityInput::new().title("Analytical Engine").contact(22).stage(1).projected_revenue(1000.0, 2500.0);
/// assert_eq!(
///     serde_json::to_value(&opp).unwrap(),
///     serde_json::json!({"opportunity_title": "Analytical Engine", "contact": {"id": 22}, "stage": {"id": 1},
///                        "projected_revenue_low": 1000.0, "projected_revenue_high": 2500.0})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OpportunityInput {
    /// Title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opportunity_title: Option<String>,
    /// Contact, sent as `{"id": …}`.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "id_ref")]
    pub contact: Option<ContactId>,
    /// Stage, sent as `{"id": …}`.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "id_ref")]
    pub stage: Option<StageId>,
    /// Owner, sent as `{"id": …}`.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "id_ref")]
    pub user: Option<UserId>,
    /// Estimated close.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::date::option_datetime::serialize"
    )]
    pub estimated_close_date: Option<OffsetDateTime>,
    /// Next action.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::date::option_datetime::serialize"
    )]
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
    /// Include in forecast (`1`) or not (`0`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_in_forecast: Option<i64>,
    /// Affiliate id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affiliate_id: Option<i64>,
    /// Custom field values (merged by id on update, replaced on `PUT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<Vec<CustomFieldValue>>,
}

impl OpportunityInput {
    /// An empty input: nothing will be sent.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the title.
    pub fn title(mut self, v: impl Into<String>) -> Self {
        self.opportunity_title = Some(v.into());
        self
    }

    /// Sets the contact.
    pub fn contact(mut self, id: impl Into<ContactId>) -> Self {
        self.contact = Some(id.into());
        self
    }

    /// Sets the stage.
    pub fn stage(mut self, id: impl Into<StageId>) -> Self {
        self.stage = Some(id.into());
        self
    }

    /// Sets the owner.
    pub fn user(mut self, id: impl Into<UserId>) -> Self {
        self.user = Some(id.into());
        self
    }

    /// Sets the estimated close date.
    pub fn estimated_close_date(mut self, t: OffsetDateTime) -> Self {
        self.estimated_close_date = Some(t);
        self
    }

    /// Sets the next action date.
    pub fn next_action_date(mut self, t: OffsetDateTime) -> Self {
        self.next_action_date = Some(t);
        self
    }

    /// Sets the next action notes.
    pub fn next_action_notes(mut self, v: impl Into<String>) -> Self {
        self.next_action_notes = Some(v.into());
        self
    }

    /// Sets the notes.
    pub fn notes(mut self, v: impl Into<String>) -> Self {
        self.opportunity_notes = Some(v.into());
        self
    }

    /// Sets the projected revenue range.
    pub fn projected_revenue(mut self, low: f64, high: f64) -> Self {
        self.projected_revenue_low = Some(low);
        self.projected_revenue_high = Some(high);
        self
    }

    /// Includes the opportunity in the forecast, or not.
    pub fn include_in_forecast(mut self, v: bool) -> Self {
        self.include_in_forecast = Some(i64::from(v));
        self
    }

    /// Sets the affiliate.
    pub fn affiliate_id(mut self, v: i64) -> Self {
        self.affiliate_id = Some(v);
        self
    }

    /// Sets a custom field value (`serde_json::Value::Null` clears it).
    pub fn custom_field(
        mut self,
        id: impl Into<CustomFieldId>,
        content: impl Into<serde_json::Value>,
    ) -> Self {
        self.custom_fields
            .get_or_insert_with(Vec::new)
            .push(CustomFieldValue {
                id: id.into(),
                content: content.into(),
            });
        self
    }
}

/// An item of `GET /opportunity/stage_pipeline` (`SalesPipeline`): a stage and how many of the
/// account's opportunities are in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineStage {
    /// Stage id (what [`OpportunityInput::stage`] takes).
    pub stage_id: StageId,
    /// Name.
    #[serde(default)]
    pub stage_name: Option<String>,
    /// Position in the pipeline.
    #[serde(default)]
    pub stage_order: Option<i64>,
    /// New opportunities start here.
    #[serde(default)]
    pub is_default: Option<bool>,
    /// Won or lost: the end of the pipeline.
    #[serde(default)]
    pub end_stage: Option<bool>,
    /// Opportunities in this stage.
    #[serde(default)]
    pub stage_count: Option<i64>,
}
