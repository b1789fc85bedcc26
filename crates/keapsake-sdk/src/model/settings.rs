//! `GET /setting/application/configuration` (`keap/rest-v1.md` §11,
//! `RestApplicationConfiguration`).
//!
//! Every module and every field is optional: Keap fills what the account has, and keapsake
//! leaves out what it knows nothing of. Lists of names (`contact_types`, `phone_types`…) are
//! comma-separated strings, as Keap sends them; the `*_list` helpers (e.g.
//! [`ConfigContact::contact_types_list`]) split them.

use serde::{Deserialize, Serialize};

/// The account's application configuration, one module per area.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApplicationConfiguration {
    /// The business and the application.
    pub application: Option<ConfigApplication>,
    /// Contact settings.
    pub contact: Option<ConfigContact>,
    /// E-commerce settings.
    pub ecommerce: Option<ConfigEcommerce>,
    /// E-mail settings.
    pub email: Option<ConfigEmail>,
    /// Form settings.
    pub forms: Option<ConfigForms>,
    /// Fulfillment settings.
    pub fulfillment: Option<ConfigFulfillment>,
    /// Invoice settings.
    pub invoice: Option<ConfigInvoice>,
    /// Note settings.
    pub note: Option<ConfigAppointmentTypes>,
    /// Opportunity settings.
    pub opportunity: Option<ConfigOpportunity>,
    /// Task settings.
    pub task: Option<ConfigAppointmentTypes>,
    /// Template settings.
    pub template: Option<ConfigTemplate>,
    /// Affiliate settings.
    pub affiliate: Option<ConfigAffiliate>,
    /// Appointment settings.
    pub appointment: Option<ConfigAppointmentTypes>,
}

/// Splits one of Keap's comma-separated lists, trimming items and dropping empty ones.
fn split(v: Option<&str>) -> Vec<String> {
    v.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `application`: the business and the application.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigApplication {
    /// The business.
    pub company: Option<ConfigCompany>,
    /// IANA time zone.
    pub time_zone: Option<String>,
    /// Locale of the UI.
    pub default_view_locale: Option<String>,
    /// Features switched on.
    pub features_enabled: Option<ConfigFeatures>,
}

/// `application.company`: the business's details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigCompany {
    /// Name.
    pub name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Phone extension.
    pub phone_ext: Option<String>,
    /// Caller id number.
    pub caller_id_number: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// Logo URL.
    pub web_logo_url: Option<String>,
    /// Street, first line.
    pub street_address_1: Option<String>,
    /// Street, second line.
    pub street_address_2: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or province.
    pub state: Option<String>,
    /// ZIP or postal code.
    pub zip: Option<String>,
    /// Country.
    pub country: Option<String>,
}

/// `application.features_enabled`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigFeatures {
    /// Marketing features.
    pub marketing: Option<bool>,
}

/// `contact`: option lists and contact settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigContact {
    /// Contact types, comma-separated (`Lead,Customer,Other`).
    pub contact_types: Option<String>,
    /// Phone types, comma-separated.
    pub phone_types: Option<String>,
    /// Fax types, comma-separated.
    pub fax_types: Option<String>,
    /// Name suffixes, comma-separated.
    pub suffix_types: Option<String>,
    /// Name prefixes, comma-separated.
    pub title_types: Option<String>,
    /// Labels of the three address slots.
    pub address_labels: Option<ConfigAddressLabels>,
    /// The default new-contact form.
    pub default_new_contact_form: Option<String>,
    /// Whether contacts may not edit themselves in the client login.
    pub disable_contact_edit_in_client_login: Option<bool>,
}

impl ConfigContact {
    /// [`contact_types`](Self::contact_types) as a list.
    pub fn contact_types_list(&self) -> Vec<String> {
        split(self.contact_types.as_deref())
    }

    /// [`phone_types`](Self::phone_types) as a list.
    pub fn phone_types_list(&self) -> Vec<String> {
        split(self.phone_types.as_deref())
    }
}

/// `contact.address_labels`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigAddressLabels {
    /// First slot (billing).
    pub line_1: Option<String>,
    /// Second slot (shipping).
    pub line_2: Option<String>,
    /// Third slot (other).
    pub line_3: Option<String>,
}

/// `ecommerce`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigEcommerce {
    /// ISO 4217 currency.
    pub currency: Option<String>,
    /// The default merchant account id, as text.
    pub default_merchant: Option<String>,
    /// Default country.
    pub default_country: Option<String>,
    /// Default tax.
    pub default_tax: Option<String>,
    /// Accepted card types, comma-separated.
    pub credit_card_types: Option<String>,
    /// Payment types, comma-separated.
    pub payment_types: Option<String>,
    /// Promo codes.
    pub promo_codes: Option<String>,
    /// Whether inventory is tracked.
    pub track_inventory: Option<bool>,
    /// Whether cost per unit is tracked.
    pub track_cost_per_unit: Option<bool>,
    /// Whether new orders auto-charge.
    pub default_to_auto_charge: Option<bool>,
    /// Charge retries.
    pub default_charge_max_retry_attempts: Option<i64>,
    /// Days between charge attempts.
    pub default_number_of_days_between_charge_attempts: Option<i64>,
    /// Merchant account retries.
    pub merchant_account_max_retry_attempts: Option<i64>,
}

/// `email`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigEmail {
    /// Whether the contact key is appended to links.
    pub append_contact_key_to_links: Option<bool>,
    /// Default opt-in link.
    pub default_opt_in_link: Option<String>,
    /// Default opt-out link.
    pub default_opt_out_link: Option<String>,
    /// Domains whose e-mails are hidden.
    pub hide_emails_to_and_from_domains: Option<String>,
    /// Whitelisted domains.
    pub whitelisted_domains: Option<String>,
}

/// `forms`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigForms {
    /// Whether spam filters are on.
    pub spam_filters_enabled: Option<bool>,
}

/// `fulfillment`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigFulfillment {
    /// Default message fields.
    pub default_message_fields: Option<String>,
    /// Default recipient.
    pub default_message_to: Option<String>,
}

/// `invoice`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigInvoice {
    /// Tax label.
    pub tax_label: Option<String>,
}

/// `note`, `task` and `appointment`, which share one shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigAppointmentTypes {
    /// Types, comma-separated (for notes: `Appointment,Call,Email,…`).
    pub appointment_types: Option<String>,
    /// Whether opportunities are shared with the related user.
    pub share_opportunity_with_related_user: Option<bool>,
}

impl ConfigAppointmentTypes {
    /// [`appointment_types`](Self::appointment_types) as a list.
    pub fn appointment_types_list(&self) -> Vec<String> {
        split(self.appointment_types.as_deref())
    }
}

/// `opportunity`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigOpportunity {
    /// Name of the stage new opportunities start in.
    pub default_stage: Option<String>,
    /// Active, win and loss stages.
    pub states: Option<ConfigOpportunityStates>,
}

/// `opportunity.states`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigOpportunityStates {
    /// The stages an opportunity is open in.
    pub active: Option<ConfigStages>,
    /// The stage of a won opportunity.
    pub win: Option<ConfigStageEnd>,
    /// The stage of a lost opportunity.
    pub loss: Option<ConfigStageEnd>,
}

/// `opportunity.states.active`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigStages {
    /// Stage names, comma-separated.
    pub stages: Option<String>,
}

impl ConfigStages {
    /// [`stages`](Self::stages) as a list.
    pub fn stages_list(&self) -> Vec<String> {
        split(self.stages.as_deref())
    }
}

/// `opportunity.states.win` and `.loss`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigStageEnd {
    /// Stage name.
    pub stage: Option<String>,
    /// Reasons, comma-separated.
    pub reasons: Option<String>,
}

/// `template`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigTemplate {
    /// Default country code.
    pub default_country_code: Option<i64>,
    /// Default user id.
    pub default_user_id: Option<i64>,
}

/// `affiliate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigAffiliate {
    /// Whether the affiliate can be chosen.
    pub choose_affiliate: Option<bool>,
    /// Commission settings.
    pub commission: Option<ConfigAffiliateCommission>,
    /// Custom affiliate URL.
    pub custom_affiliate_url: Option<String>,
    /// Whether the affiliate's IP address is shown.
    pub display_affiliate_ip_address: Option<bool>,
    /// Whether affiliates are not notified.
    pub do_not_notify_affiliate: Option<bool>,
    /// Skip paying unused commissions.
    pub skip_pay_if_unused: Option<bool>,
    /// Use referral history without a tracking cookie.
    pub use_referral_history_if_no_tracking_cookie: Option<bool>,
}

/// `affiliate.commission`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigAffiliateCommission {
    /// Calculation type.
    pub calculation_type: Option<String>,
    /// Levels.
    pub levels: Option<i64>,
    /// Participant types.
    pub participant_types: Option<String>,
}
