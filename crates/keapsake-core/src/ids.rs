//! Integer ids. Keap ids are integers on the wire; each kind gets its own type so an account id can
//! never be passed where a user id is expected.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    };
}

id_type!(
    /// A Keap account (tenant), e.g. the app `ab123`.
    AccountId
);
id_type!(
    /// A person who logs in.
    UserId
);
id_type!(
    /// An OAuth client (Keap calls it an app or developer key).
    AppId
);
id_type!(
    /// One authorization: the code and every access and refresh token descending from it.
    FamilyId
);
