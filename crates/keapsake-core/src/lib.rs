//! The keapsake domain: validated ids and newtypes, secrets and their hashes, OAuth grant rules,
//! the injected [`Clock`], and the [`Store`] trait every storage backend implements.
//!
//! Nothing here speaks HTTP or SQL. Time and randomness are passed in or drawn from the OS CSPRNG
//! through [`secret`], so rules can be tested with a fixed clock.

pub mod clock;
pub mod commerce;
pub mod counters;
pub mod crm;
pub mod crm_more;
pub mod csrf;
pub mod hooks;
pub mod ids;
pub mod messaging;
pub mod oauth;
pub mod password;
pub mod records;
pub mod secret;
pub mod store;
pub mod v2;

pub use clock::{Clock, ManualClock, SystemClock};
pub use ids::{AccountId, AppId, FamilyId, UserId};
pub use secret::{Secret, TokenHash};
pub use store::{Store, StoreError, StoreResult};
