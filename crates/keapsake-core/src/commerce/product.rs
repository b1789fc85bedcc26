//! Products (`keap/rest-v1.md` §7): the stored document ([`ProductDoc`]) with its subscription
//! plans, image and inventory count; what a client may send for a product
//! ([`ProductChanges::parse`]) and a plan ([`NewPlan::parse`]) and an image
//! ([`ProductImage::parse`]); the keys; the two v1 shapes (`Product_` in lists and sync with
//! `status` 1/0, `RestProductV1` for one product with `active`); and the sync token.
//!
//! Index layout:
//!
//! | key | holds | used by |
//! |---|---|---|
//! | `n0` | 1 active, 0 inactive | `active=` |
//! | `k0` | name, folded | — (kept for XML-RPC queries by name) |
//! | `k1` | SKU | — (kept for XML-RPC queries by SKU) |
//!
//! Deleted products leave a tombstone record ([`crate::records::RecordKind::ProductTombstone`],
//! `n0` = the product id, the document = the product's last `Product_` shape) so `GET
//! /products/sync` can report `DELETED`; the product record itself is deleted like any other.

use super::money::Money;
use super::{MAX_CHILDREN, boolean, child_id, int32, text};
use crate::clock::{from_millis, to_millis};
use crate::crm::fold;
use crate::records::Keys;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Integer key of the active flag.
pub const ACTIVE_KEY: usize = 0;
/// Text key of the folded name.
pub const NAME_KEY: usize = 0;
/// Text key of the SKU.
pub const SKU_KEY: usize = 1;
/// Integer key of a tombstone's product id.
pub const TOMBSTONE_PRODUCT_KEY: usize = 0;

/// Longest name or SKU.
pub const MAX_NAME: usize = 255;
/// Longest description.
pub const MAX_DESC: usize = 65_535;
/// Largest decoded image (`keap/rest-v1.md` §7.2: 3 MB).
pub const MAX_IMAGE_BYTES: usize = 3 * 1024 * 1024;

/// The 400 message for a product without a name.
pub const NAME_REQUIRED: &str = "product_name is required";

/// Billing cycle of a subscription plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Cycle {
    /// Yearly.
    Year,
    /// Monthly.
    Month,
    /// Weekly.
    Week,
    /// Daily.
    Day,
}

impl Cycle {
    /// Parses `YEAR`, `MONTH`, `WEEK`, `DAY` (any ASCII case).
    pub fn parse(s: &str) -> Option<Cycle> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "YEAR" => Cycle::Year,
            "MONTH" => Cycle::Month,
            "WEEK" => Cycle::Week,
            "DAY" => Cycle::Day,
            _ => return None,
        })
    }

    /// The `cycle_type` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Cycle::Year => "YEAR",
            Cycle::Month => "MONTH",
            Cycle::Week => "WEEK",
            Cycle::Day => "DAY",
        }
    }

    /// Keap's legacy numeric cycle (`cycle` of list shapes): 1 year, 2 month, 3 week, 6 day.
    pub fn code(self) -> i64 {
        match self {
            Cycle::Year => 1,
            Cycle::Month => 2,
            Cycle::Week => 3,
            Cycle::Day => 6,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Cycle::Year => "year",
            Cycle::Month => "month",
            Cycle::Week => "week",
            Cycle::Day => "day",
        }
    }
}

/// A subscription plan, inside its product's document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// A [`child_id`] of the product.
    pub id: i64,
    /// Billing cycle.
    pub cycle: Cycle,
    /// Cycles between charges (≥ 1).
    pub frequency: i64,
    /// Charges before the subscription ends (0: until cancelled).
    pub number_of_cycles: i64,
    /// Price per charge.
    pub plan_price: Money,
    /// Display position.
    pub subscription_plan_index: i64,
    /// Whether it can be bought.
    pub active: bool,
}

/// A plan as sent to `POST /products/{id}/subscriptions`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPlan {
    cycle: Cycle,
    frequency: i64,
    number_of_cycles: i64,
    plan_price: Money,
    index: Option<i64>,
    active: bool,
}

impl NewPlan {
    /// Validates a `CreateProductSubscription` body.
    ///
    /// # Errors
    /// A message for the client.
    pub fn parse(body: &Map<String, Value>) -> Result<NewPlan, String> {
        let get = |k: &str| body.get(k).filter(|v| !v.is_null());
        let cycle = match get("cycle_type") {
            None => return Err("cycle_type is required".to_owned()),
            Some(Value::String(s)) => Cycle::parse(s),
            Some(_) => None,
        }
        .ok_or("cycle_type must be one of YEAR, MONTH, WEEK, DAY")?;
        let plan_price = Money::non_negative(
            get("plan_price").ok_or("plan_price is required")?,
            "plan_price",
        )
        .map_err(|e| e.to_string())?;
        let frequency = get("frequency")
            .map(|v| int32(v, "frequency"))
            .transpose()?
            .unwrap_or(1);
        if frequency < 1 {
            return Err("frequency must be at least 1".to_owned());
        }
        let number_of_cycles = get("number_of_cycles")
            .map(|v| int32(v, "number_of_cycles"))
            .transpose()?
            .unwrap_or(0);
        if number_of_cycles < 0 {
            return Err("number_of_cycles must not be negative".to_owned());
        }
        let index = get("subscription_plan_index")
            .map(|v| int32(v, "subscription_plan_index"))
            .transpose()?;
        let active = get("active")
            .map(|v| boolean(v, "active"))
            .transpose()?
            .unwrap_or(true);
        Ok(NewPlan {
            cycle,
            frequency,
            number_of_cycles,
            plan_price,
            index,
            active,
        })
    }
}

/// A product image (`POST /products/{id}/image`), validated and decoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductImage {
    /// File name as sent.
    pub file_name: String,
    /// `image/png`, `image/gif` or `image/jpeg`.
    pub content_type: String,
    /// The bytes, base64 (standard alphabet, padded).
    pub data: String,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
}

impl ProductImage {
    /// Validates a `CreateProductImage` body: a `file_name` ending in `.png`, `.gif`, `.jpg` or
    /// `.jpeg` (any case), `file_data` base64 of at most 3 MB whose leading bytes are that kind
    /// of image ("must match file data", the spec says), and an optional `checksum` that must
    /// be the SHA-256 of the bytes in hex.
    ///
    /// # Errors
    /// A message for the client.
    pub fn parse(body: &Map<String, Value>) -> Result<ProductImage, String> {
        let file_name = match body.get("file_name") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            None | Some(Value::Null) => return Err("file_name is required".to_owned()),
            Some(_) => return Err("file_name must be a string".to_owned()),
        };
        crate::crm::check_text("file_name", &file_name, MAX_NAME)?;
        let ext = file_name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        let content_type = match ext.as_str() {
            "png" => "image/png",
            "gif" => "image/gif",
            "jpg" | "jpeg" => "image/jpeg",
            _ => return Err("file_name must end in .png, .gif, .jpg or .jpeg".to_owned()),
        };
        let encoded = match body.get("file_data") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim(),
            None | Some(Value::Null) => return Err("file_data is required".to_owned()),
            Some(_) => return Err("file_data must be a base64 string".to_owned()),
        };
        // Checked before decoding so an oversized upload is not decoded at all.
        if encoded.len() > MAX_IMAGE_BYTES.div_ceil(3) * 4 + 4 {
            return Err("file_data must be at most 3 MB".to_owned());
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| "file_data must be base64".to_owned())?;
        if bytes.is_empty() {
            return Err("file_data is required".to_owned());
        }
        if bytes.len() > MAX_IMAGE_BYTES {
            return Err("file_data must be at most 3 MB".to_owned());
        }
        let magic_ok = match content_type {
            "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "image/gif" => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
            _ => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        };
        if !magic_ok {
            return Err(format!(
                "file_data is not a {} image, as file_name says",
                ext.to_ascii_uppercase()
            ));
        }
        let sha256 = hex(&Sha256::digest(&bytes));
        match body.get("checksum") {
            None | Some(Value::Null) => {}
            Some(Value::String(c)) if c.trim().is_empty() => {}
            Some(Value::String(c)) if c.trim().eq_ignore_ascii_case(&sha256) => {}
            Some(Value::String(_)) => {
                return Err("checksum does not match the SHA-256 of file_data".to_owned());
            }
            Some(_) => return Err("checksum must be a hex string".to_owned()),
        }
        Ok(ProductImage {
            file_name,
            content_type: content_type.to_owned(),
            data: base64::engine::general_purpose::STANDARD.encode(&bytes),
            sha256,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A change to a product's fields (create or `PATCH`): `None` keeps, `Some(None)` clears.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductChanges {
    name: Option<String>,
    price: Option<Money>,
    desc: Option<Option<String>>,
    short_desc: Option<Option<String>>,
    sku: Option<Option<String>>,
    active: Option<bool>,
    subscription_only: Option<bool>,
}

impl ProductChanges {
    /// Validates a `CreateProduct` body; `create` requires `product_name` (a `PATCH` does not,
    /// `keap/rest-v1.md` §7.1). Unknown and read-only members (`id`, `url`, `status`,
    /// `subscription_plans`) are ignored.
    ///
    /// # Errors
    /// A message for the client.
    pub fn parse(body: &Map<String, Value>, create: bool) -> Result<ProductChanges, String> {
        let mut ch = ProductChanges::default();
        match body.get("product_name") {
            None | Some(Value::Null) if create => return Err(NAME_REQUIRED.to_owned()),
            None => {}
            Some(v) => {
                ch.name = Some(text(v, "product_name", MAX_NAME)?.ok_or(NAME_REQUIRED)?);
            }
        }
        if let Some(v) = body.get("product_price") {
            ch.price = Some(if v.is_null() {
                Money::ZERO
            } else {
                Money::non_negative(v, "product_price").map_err(|e| e.to_string())?
            });
        }
        for (key, slot, max) in [
            ("product_desc", &mut ch.desc, MAX_DESC),
            ("product_short_desc", &mut ch.short_desc, MAX_DESC),
            ("sku", &mut ch.sku, MAX_NAME),
        ] {
            if let Some(v) = body.get(key) {
                *slot = Some(text(v, key, max)?);
            }
        }
        for (key, slot) in [
            ("active", &mut ch.active),
            ("subscription_only", &mut ch.subscription_only),
        ] {
            match body.get(key) {
                None | Some(Value::Null) => {}
                Some(v) => *slot = Some(boolean(v, key)?),
            }
        }
        Ok(ch)
    }
}

/// A product as stored (the `data` of a [`crate::records::RecordKind::Product`] record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProductDoc {
    /// Name (never empty).
    pub product_name: String,
    /// Price.
    pub product_price: Money,
    /// Long description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_desc: Option<String>,
    /// Short description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_short_desc: Option<String>,
    /// SKU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Whether it can be sold.
    pub active: bool,
    /// Only sold as a subscription.
    pub subscription_only: bool,
    /// Units in stock (not part of REST v1; XML-RPC `ProductService` reads and changes it).
    pub inventory: i64,
    /// Subscription plans.
    pub subscription_plans: Vec<Plan>,
    /// Plans ever created (the next plan is the `n + 1`th child).
    pub plans_created: i64,
    /// The image, if one was uploaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ProductImage>,
    /// Members this version does not know, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for ProductDoc {
    fn default() -> Self {
        Self {
            product_name: String::new(),
            product_price: Money::ZERO,
            product_desc: None,
            product_short_desc: None,
            sku: None,
            active: true,
            subscription_only: false,
            inventory: 0,
            subscription_plans: Vec::new(),
            plans_created: 0,
            image: None,
            extra: Map::new(),
        }
    }
}

impl ProductDoc {
    /// Reads a stored document.
    ///
    /// # Errors
    /// When the stored JSON is not a product (a bug, not bad input).
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Self::deserialize(v).map_err(|e| format!("stored product is not readable: {e}"))
    }

    /// The document as stored JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// A new product (active unless `active: false` was sent).
    ///
    /// # Errors
    /// As [`ProductDoc::update`].
    pub fn create(ch: &ProductChanges) -> Result<Self, String> {
        let mut doc = ProductDoc::default();
        doc.update(ch)?;
        Ok(doc)
    }

    /// Applies a change.
    ///
    /// # Errors
    /// A product left without a name.
    pub fn update(&mut self, ch: &ProductChanges) -> Result<(), String> {
        if let Some(n) = &ch.name {
            self.product_name.clone_from(n);
        }
        if let Some(p) = ch.price {
            self.product_price = p;
        }
        if let Some(d) = &ch.desc {
            self.product_desc.clone_from(d);
        }
        if let Some(d) = &ch.short_desc {
            self.product_short_desc.clone_from(d);
        }
        if let Some(s) = &ch.sku {
            self.sku.clone_from(s);
        }
        if let Some(a) = ch.active {
            self.active = a;
        }
        if let Some(s) = ch.subscription_only {
            self.subscription_only = s;
        }
        if self.product_name.is_empty() {
            return Err(NAME_REQUIRED.to_owned());
        }
        Ok(())
    }

    /// The indexed keys (layout in the module docs).
    pub fn keys(&self) -> Keys {
        let mut keys = Keys::default();
        keys.int[ACTIVE_KEY] = Some(i64::from(self.active));
        keys.text[NAME_KEY] = Some(fold(&self.product_name));
        keys.text[SKU_KEY].clone_from(&self.sku);
        keys
    }

    /// Units in stock.
    pub fn inventory(&self) -> i64 {
        self.inventory
    }

    /// Adds `by` units (negative to take some away) and returns the new count.
    ///
    /// # Errors
    /// When the count would overflow or go below zero (nothing is changed then).
    pub fn adjust_inventory(&mut self, by: i64) -> Result<i64, String> {
        let next = self
            .inventory
            .checked_add(by)
            .ok_or("inventory out of range")?;
        if next < 0 {
            return Err(format!(
                "only {} in stock, cannot take {}",
                self.inventory,
                by.unsigned_abs()
            ));
        }
        self.inventory = next;
        Ok(next)
    }

    /// Adds `n ≥ 0` units.
    ///
    /// # Errors
    /// As [`ProductDoc::adjust_inventory`], or a negative `n`.
    pub fn increment_inventory(&mut self, n: i64) -> Result<i64, String> {
        if n < 0 {
            return Err("the quantity must not be negative".to_owned());
        }
        self.adjust_inventory(n)
    }

    /// Takes `n ≥ 0` units away.
    ///
    /// # Errors
    /// As [`ProductDoc::adjust_inventory`], or a negative `n`.
    pub fn decrement_inventory(&mut self, n: i64) -> Result<i64, String> {
        if n < 0 {
            return Err("the quantity must not be negative".to_owned());
        }
        self.adjust_inventory(-n)
    }

    /// Adds a plan to the product whose id is `product_id` and returns it.
    ///
    /// # Errors
    /// When the product already had [`MAX_CHILDREN`] plans.
    pub fn add_plan(&mut self, product_id: i64, new: &NewPlan) -> Result<Plan, String> {
        let n = self.plans_created + 1;
        let id = child_id(product_id, n)
            .ok_or_else(|| format!("a product has at most {MAX_CHILDREN} subscription plans"))?;
        let plan = Plan {
            id,
            cycle: new.cycle,
            frequency: new.frequency,
            number_of_cycles: new.number_of_cycles,
            plan_price: new.plan_price,
            subscription_plan_index: new
                .index
                .unwrap_or_else(|| i64::try_from(self.subscription_plans.len()).unwrap_or(0)),
            active: new.active,
        };
        self.plans_created = n;
        self.subscription_plans.push(plan.clone());
        Ok(plan)
    }

    /// The plan with this id.
    pub fn plan(&self, id: i64) -> Option<&Plan> {
        self.subscription_plans.iter().find(|p| p.id == id)
    }

    /// Removes a plan; whether it was there.
    pub fn remove_plan(&mut self, id: i64) -> bool {
        let before = self.subscription_plans.len();
        self.subscription_plans.retain(|p| p.id != id);
        before != self.subscription_plans.len()
    }

    fn plan_name(&self, p: &Plan) -> String {
        let unit = p.cycle.word();
        if p.frequency == 1 {
            format!("{} (every {unit})", self.product_name)
        } else {
            format!("{} (every {} {unit}s)", self.product_name, p.frequency)
        }
    }

    /// A plan in the single-product shape (`ProductSubscription`, `cycle_type`).
    pub fn render_plan(&self, p: &Plan) -> Value {
        json!({
            "id": p.id,
            "active": p.active,
            "cycle_type": p.cycle.as_str(),
            "frequency": p.frequency,
            "number_of_cycles": p.number_of_cycles,
            "plan_price": p.plan_price.to_json(),
            "subscription_plan_index": p.subscription_plan_index,
            "subscription_plan_name": self.plan_name(p),
            "url": Value::Null,
        })
    }

    /// A plan in the list shape (`SubscriptionPlan_`, numeric `cycle`).
    pub fn render_plan_listed(&self, p: &Plan) -> Value {
        json!({
            "id": p.id,
            "active": p.active,
            "cycle": p.cycle.code(),
            "frequency": p.frequency,
            "number_of_cycles": p.number_of_cycles,
            "plan_price": p.plan_price.to_json(),
            "subscription_plan_index": p.subscription_plan_index,
            "subscription_plan_name": self.plan_name(p),
            "url": Value::Null,
        })
    }

    /// One product (`RestProductV1`: `active` bool, plans with `cycle_type`). `url` (Keap's
    /// storefront link) is `null`: keapsake has no storefront.
    pub fn render(&self, id: i64) -> Value {
        json!({
            "id": id,
            "product_name": self.product_name,
            "product_price": self.product_price.to_json(),
            "product_desc": self.product_desc,
            "product_short_desc": self.product_short_desc,
            "sku": self.sku,
            "active": self.active,
            "subscription_only": self.subscription_only,
            "url": Value::Null,
            "subscription_plans": self.subscription_plans.iter().map(|p| self.render_plan(p)).collect::<Vec<_>>(),
        })
    }

    /// A listed product (`Product_`: `status` 1/0, numeric plan `cycle`, `product_options`).
    pub fn render_listed(&self, id: i64) -> Value {
        json!({
            "id": id,
            "product_name": self.product_name,
            "product_price": self.product_price.to_json(),
            "product_desc": self.product_desc,
            "product_short_desc": self.product_short_desc,
            "sku": self.sku,
            "status": i64::from(self.active),
            "subscription_only": self.subscription_only,
            "url": Value::Null,
            "product_options": [],
            "subscription_plans": self.subscription_plans.iter().map(|p| self.render_plan_listed(p)).collect::<Vec<_>>(),
        })
    }

    /// What `OrderItem.product` of a created order shows (the `Product_` shape).
    pub fn summary(&self, id: i64) -> ProductSummary {
        ProductSummary {
            id,
            name: self.product_name.clone(),
            desc: self.product_desc.clone(),
            short_desc: self.product_short_desc.clone(),
            sku: self.sku.clone(),
            price: self.product_price,
            active: self.active,
            subscription_only: self.subscription_only,
        }
    }
}

/// What an order item keeps of its product at the time it was added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductSummary {
    /// Product id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Long description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// Short description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_desc: Option<String>,
    /// SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Price then.
    pub price: Money,
    /// Active then.
    #[serde(default)]
    pub active: bool,
    /// Subscription only then.
    #[serde(default)]
    pub subscription_only: bool,
}

/// The `sync_token` of `GET /products/sync`: the time of the listing, opaque to clients (`p`
/// and epoch milliseconds).
pub fn sync_token(now: OffsetDateTime) -> String {
    format!("p{}", to_millis(now))
}

/// Reads a [`sync_token`]; `None` for anything keapsake did not issue.
pub fn parse_sync_token(token: &str) -> Option<OffsetDateTime> {
    let ms = token.trim().strip_prefix('p')?;
    if ms.is_empty() || ms.len() > 15 || !ms.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    ms.parse::<i64>().ok().map(from_millis)
}

/// A sync entry's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStatus {
    /// Created after the token.
    Created,
    /// Created before the token, changed after it.
    Updated,
    /// Deleted after the token.
    Deleted,
}

impl SyncStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Created => "CREATED",
            SyncStatus::Updated => "UPDATED",
            SyncStatus::Deleted => "DELETED",
        }
    }

    /// The status of a live product created at `created` relative to a token time (`None`:
    /// the first sync, everything is `CREATED`).
    pub fn of(created: OffsetDateTime, since: Option<OffsetDateTime>) -> SyncStatus {
        match since {
            Some(t) if created < t => SyncStatus::Updated,
            _ => SyncStatus::Created,
        }
    }
}

/// One item of `product_statuses`.
pub fn render_status(product: Value, status: SyncStatus) -> Value {
    json!({"product": product, "status": status.as_str()})
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("an object")
    }

    #[test]
    fn create_needs_a_name_and_patch_does_not() {
        assert_eq!(
            ProductChanges::parse(&obj(json!({"product_price": 1})), true),
            Err(NAME_REQUIRED.to_owned())
        );
        assert!(ProductChanges::parse(&obj(json!({"sku": "x"})), false).is_ok());
        assert!(ProductChanges::parse(&obj(json!({"product_name": "  "})), false).is_err());
        assert!(
            ProductChanges::parse(
                &obj(json!({"product_name": "a", "product_price": -1})),
                true
            )
            .is_err()
        );
        assert!(
            ProductChanges::parse(&obj(json!({"product_name": "a", "active": "maybe"})), true)
                .is_err()
        );
    }

    #[test]
    fn shapes_differ_between_list_and_single() {
        let ch = ProductChanges::parse(
            &obj(
                json!({"product_name": "Widget", "product_price": "19.99", "sku": "W-1",
                        "active": false, "id": 99, "status": 1}),
            ),
            true,
        )
        .expect("valid");
        let mut doc = ProductDoc::create(&ch).expect("valid");
        let plan = NewPlan::parse(&obj(
            json!({"cycle_type": "month", "plan_price": "9.99", "frequency": 2}),
        ))
        .expect("valid");
        let p = doc.add_plan(7, &plan).expect("room");
        assert_eq!(p.id, 70_001);
        let one = doc.render(7);
        assert_eq!(one["active"], false);
        assert!(one.get("status").is_none());
        assert_eq!(one["product_price"], 19.99);
        assert_eq!(one["subscription_plans"][0]["cycle_type"], "MONTH");
        assert_eq!(
            one["subscription_plans"][0]["subscription_plan_name"],
            "Widget (every 2 months)"
        );
        let listed = doc.render_listed(7);
        assert_eq!(listed["status"], 0);
        assert!(listed.get("active").is_none());
        assert_eq!(listed["subscription_plans"][0]["cycle"], 2);
        assert_eq!(doc.keys().int[ACTIVE_KEY], Some(0));
        // A removed plan's id is never handed out again.
        assert!(doc.remove_plan(70_001));
        assert!(!doc.remove_plan(70_001));
        assert_eq!(doc.add_plan(7, &plan).expect("room").id, 70_002);
    }

    #[test]
    fn plans_are_validated() {
        for (body, msg) in [
            (json!({"plan_price": 1}), "cycle_type is required"),
            (
                json!({"cycle_type": "FORTNIGHT", "plan_price": 1}),
                "cycle_type must be one of YEAR, MONTH, WEEK, DAY",
            ),
            (json!({"cycle_type": "DAY"}), "plan_price is required"),
            (
                json!({"cycle_type": "DAY", "plan_price": 1, "frequency": 0}),
                "frequency must be at least 1",
            ),
        ] {
            assert_eq!(NewPlan::parse(&obj(body)), Err(msg.to_owned()));
        }
    }

    #[test]
    fn inventory_counts_and_never_goes_negative() {
        let mut doc = ProductDoc::default();
        assert_eq!(doc.increment_inventory(5), Ok(5));
        assert_eq!(doc.decrement_inventory(3), Ok(2));
        assert!(doc.decrement_inventory(3).is_err());
        assert_eq!(doc.inventory(), 2);
        assert!(doc.increment_inventory(-1).is_err());
        doc.inventory = i64::MAX;
        assert!(doc.increment_inventory(1).is_err());
        // Round-trips through the stored form; REST v1 shapes do not show it.
        let back = ProductDoc::from_value(&doc.to_value()).expect("readable");
        assert_eq!(back.inventory(), i64::MAX);
        assert!(back.render(1).get("inventory").is_none());
    }

    #[test]
    fn images_are_checked() {
        let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\nrest");
        let sum = hex(&Sha256::digest(b"\x89PNG\r\n\x1a\nrest"));
        let ok = ProductImage::parse(&obj(
            json!({"file_name": "a.PNG", "file_data": png, "checksum": sum.to_uppercase()}),
        ))
        .expect("valid");
        assert_eq!(ok.content_type, "image/png");
        for (body, msg) in [
            (
                json!({"file_name": "a.bmp", "file_data": png}),
                "file_name must end in .png, .gif, .jpg or .jpeg",
            ),
            (
                json!({"file_name": "a.png", "file_data": "***"}),
                "file_data must be base64",
            ),
            (
                json!({"file_name": "a.jpg", "file_data": png}),
                "file_data is not a JPG image, as file_name says",
            ),
            (
                json!({"file_name": "a.png", "file_data": png, "checksum": "00"}),
                "checksum does not match the SHA-256 of file_data",
            ),
            (json!({"file_data": png}), "file_name is required"),
        ] {
            assert_eq!(ProductImage::parse(&obj(body)), Err(msg.to_owned()));
        }
        let big = base64::engine::general_purpose::STANDARD.encode(vec![0u8; MAX_IMAGE_BYTES + 1]);
        assert_eq!(
            ProductImage::parse(&obj(json!({"file_name": "a.gif", "file_data": big}))),
            Err("file_data must be at most 3 MB".to_owned())
        );
    }

    #[test]
    fn sync_tokens_round_trip() {
        let t = datetime!(2024-11-07 20:35:13.123 UTC);
        assert_eq!(parse_sync_token(&sync_token(t)), Some(t));
        assert_eq!(parse_sync_token("t123"), None);
        assert_eq!(parse_sync_token("p"), None);
        assert_eq!(parse_sync_token("p99999999999999999999"), None);
        assert_eq!(
            SyncStatus::of(t, Some(t + time::Duration::SECOND)),
            SyncStatus::Updated
        );
        assert_eq!(SyncStatus::of(t, None), SyncStatus::Created);
    }
}
