//! The marketing status of an e-mail address (`PUT /emailAddresses/{email}`,
//! `keap/rest-v1.md` §9.2): Keap's display names of [`EmailStatus`], the opt-in and opt-out
//! rules, which statuses a message may still be sent to, and the stored document
//! ([`AddressDoc`], one per address and account, unique on the folded address).
//!
//! The same status is kept on every contact whose `EMAIL1` is the address
//! ([`crate::crm::contact::ContactDoc::email_status`]), so `GET /contacts/{id}` shows what
//! `PUT /emailAddresses` did. `EMAIL2` and `EMAIL3` have no status field on a contact; their
//! status lives here only.
//!
//! Opting out through the API moves the address to `Admin` ("Opt-Out: Admin"): an opt-out
//! made by an API client acting for the account, not by the recipient. `Admin` is not among
//! the statuses an opt-in may move ([`EmailStatus::can_opt_in`]), which makes the opt-out
//! permanent for the API, as Keap documents (`keap/xmlrpc.md` §4.3 `optOut`) — for this
//! endpoint and for `opt_in_reason` on contacts alike.

use crate::crm::contact::EmailStatus;
use crate::crm::{check_text, fold};
use crate::records::Keys;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Text key of the folded address.
pub const ADDRESS_KEY: usize = 0;
/// Longest address, in characters.
pub const MAX_ADDRESS: usize = 254;
/// Longest opt-in or opt-out reason, in characters.
pub const MAX_REASON: usize = 1024;

/// The status strings of `RestEmailAddress.status`, Keap's display names.
pub fn display(status: EmailStatus) -> &'static str {
    match status {
        EmailStatus::UnengagedMarketable => "Unengaged Marketable",
        EmailStatus::SingleOptIn => "Unconfirmed",
        EmailStatus::DoubleOptin => "Confirmed (Legacy)",
        EmailStatus::Confirmed => "Confirmed",
        EmailStatus::UnengagedNonMarketable => "Unengaged NonMarketable",
        EmailStatus::NonMarketable => "Non-marketable",
        EmailStatus::Lockdown => "Lockdown",
        EmailStatus::Bounce => "Soft Bounce",
        EmailStatus::HardBounce => "Hard Bounce",
        EmailStatus::Manual => "Opt-Out",
        EmailStatus::Admin => "Opt-Out: Admin",
        EmailStatus::System => "Opt-Out: System",
        EmailStatus::ListUnsubscribe => "List Unsubscribe",
        EmailStatus::Feedback => "Provided Feedback",
        EmailStatus::Spam => "Reported Spam",
        EmailStatus::Invalid => "Invalid Email",
        EmailStatus::Deactivated => "Deactivated/Delinquent Mailbox",
    }
}

/// Whether a one-to-one message (`POST /emails/queue`) may go to an address in this status.
/// Keap sends one-off e-mails to non-marketable addresses (no consent to marketing yet) but
/// never to addresses that opted out, bounced hard, complained, or are invalid or locked.
pub fn is_sendable(status: EmailStatus) -> bool {
    !matches!(
        status,
        EmailStatus::Lockdown
            | EmailStatus::HardBounce
            | EmailStatus::Manual
            | EmailStatus::Admin
            | EmailStatus::System
            | EmailStatus::ListUnsubscribe
            | EmailStatus::Feedback
            | EmailStatus::Spam
            | EmailStatus::Invalid
            | EmailStatus::Deactivated
    )
}

/// The status after an opt-in: `SingleOptIn` ("Unconfirmed") from the statuses an opt-in may
/// move (`keap/rest-v1.md` §1.6), otherwise unchanged.
pub fn opted_in(current: EmailStatus) -> EmailStatus {
    if current.can_opt_in() {
        EmailStatus::SingleOptIn
    } else {
        current
    }
}

/// The status after an API opt-out: `Admin`, unless the address is already unsendable for a
/// reason of its own (a bounce, a complaint, an earlier opt-out), which is kept.
pub fn opted_out(current: EmailStatus) -> EmailStatus {
    if is_sendable(current) {
        EmailStatus::Admin
    } else {
        current
    }
}

/// A checked address from the path: trimmed, one `@` with text on both sides, no spaces,
/// control characters or NUL, at most [`MAX_ADDRESS`] characters.
///
/// # Errors
/// A 400 message.
pub fn parse_address(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    let bad = || format!("{s:?} is not an e-mail address");
    check_text("email", s, MAX_ADDRESS).map_err(|_| bad())?;
    let (local, domain) = s.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.is_empty()
        || domain.contains('@')
        || s.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad());
    }
    Ok(s.to_owned())
}

/// The body of `PUT /emailAddresses/{email}` (`UpdateEmailAddress`); both fields required.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UpdateBody {
    /// Opt in (`true`) or out (`false`).
    pub opted_in: Option<bool>,
    /// Why.
    pub reason: Option<String>,
}

impl UpdateBody {
    /// `(opted_in, reason)`, the reason trimmed; an empty one becomes `API Opt In` /
    /// `API Opt Out` (Keap's default for a blank XML-RPC reason, `keap/xmlrpc.md` §4.3).
    ///
    /// # Errors
    /// A missing field, or a reason that is too long or holds NUL.
    pub fn into_parts(self) -> Result<(bool, String), String> {
        let opted_in = self.opted_in.ok_or("opted_in is required")?;
        let reason = self.reason.ok_or("reason is required")?;
        let reason = reason.trim();
        check_text("reason", reason, MAX_REASON)?;
        let reason = if reason.is_empty() {
            if opted_in {
                "API Opt In"
            } else {
                "API Opt Out"
            }
            .to_owned()
        } else {
            reason.to_owned()
        };
        Ok((opted_in, reason))
    }
}

/// An address's status as stored (the `data` of a
/// [`crate::records::RecordKind::EmailAddress`] record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddressDoc {
    /// The address as first given.
    pub email: String,
    /// Its status.
    pub status: EmailStatus,
    /// The last reason given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl AddressDoc {
    /// Reads a stored document.
    ///
    /// # Errors
    /// When the stored JSON is not an address status (a bug, not bad input).
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Self::deserialize(v).map_err(|e| format!("stored email address is not readable: {e}"))
    }

    /// The document as stored JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Keys: the folded address, unique.
    pub fn keys(&self) -> Keys {
        let mut keys = Keys::default();
        keys.text[ADDRESS_KEY] = Some(fold(&self.email));
        keys.unique = Some(fold(&self.email));
        keys
    }

    /// Applies an opt-in or opt-out.
    pub fn apply(&mut self, opt_in: bool, reason: &str) {
        self.status = if opt_in {
            opted_in(self.status)
        } else {
            opted_out(self.status)
        };
        self.reason = Some(reason.to_owned());
    }
}

/// The response of `PUT /emailAddresses/{email}` (`RestEmailAddress`).
pub fn render(email: &str, status: EmailStatus) -> Value {
    json!({
        "email": email,
        "opted_in": status.is_opted_in(),
        "status": display(status),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opt_out_through_the_api_is_permanent_for_the_api() {
        let mut d = AddressDoc {
            email: "A@b.c".into(),
            status: EmailStatus::NonMarketable,
            reason: None,
        };
        d.apply(true, "asked");
        assert_eq!(d.status, EmailStatus::SingleOptIn);
        assert_eq!(render(&d.email, d.status)["status"], "Unconfirmed");
        d.apply(false, "no more");
        assert_eq!(d.status, EmailStatus::Admin);
        d.apply(true, "again");
        assert_eq!(d.status, EmailStatus::Admin);
        assert_eq!(
            render(&d.email, d.status),
            json!({"email": "A@b.c", "opted_in": false, "status": "Opt-Out: Admin"})
        );
        assert_eq!(d.keys().unique.as_deref(), Some("a@b.c"));
        // A hard bounce stays a hard bounce.
        assert_eq!(opted_out(EmailStatus::HardBounce), EmailStatus::HardBounce);
        assert!(is_sendable(EmailStatus::NonMarketable));
        assert!(!is_sendable(EmailStatus::Admin));
    }

    #[test]
    fn every_status_has_a_spec_display_name() {
        let names: std::collections::BTreeSet<_> =
            EmailStatus::ALL.iter().map(|s| display(*s)).collect();
        assert_eq!(names.len(), EmailStatus::ALL.len());
    }

    #[test]
    fn addresses_and_bodies_are_checked() {
        assert_eq!(parse_address(" a@b.c ").as_deref(), Ok("a@b.c"));
        for bad in ["", "ab.c", "@b.c", "a@", "a b@c.d", "a@b@c", "a\0@b.c"] {
            assert!(parse_address(bad).is_err(), "{bad:?}");
        }
        let body = |v: Value| {
            serde_json::from_value::<UpdateBody>(v)
                .expect("shape")
                .into_parts()
        };
        assert_eq!(
            body(json!({"reason": "x"})),
            Err("opted_in is required".into())
        );
        assert_eq!(
            body(json!({"opted_in": true})),
            Err("reason is required".into())
        );
        assert_eq!(
            body(json!({"opted_in": false, "reason": " "})),
            Ok((false, "API Opt Out".into()))
        );
    }
}
