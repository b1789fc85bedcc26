//! Error bodies: Keap's REST v1 `{"message"}` and the Apigee gateway fault envelope.

use serde::{Deserialize, Serialize};

/// REST v1 application error (`keap/rest-v1.md` §0): `{"message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct V1Error {
    /// What went wrong, in Keap's words where Keap has them.
    pub message: String,
}

/// The Apigee fault envelope Keap's gateway answers 401 and 429 with (`keap/oauth.md` §6, §7):
/// `{"fault":{"faultstring":"…","detail":{"errorcode":"…"}}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApigeeFault {
    /// The fault itself.
    pub fault: FaultBody,
}

/// Inside [`ApigeeFault`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultBody {
    /// e.g. `Invalid Access Token`.
    pub faultstring: String,
    /// The machine-readable code.
    pub detail: FaultDetail,
}

/// Inside [`FaultBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultDetail {
    /// e.g. `keymanagement.service.invalid_access_token`.
    pub errorcode: String,
}

impl ApigeeFault {
    /// Builds a fault from its two strings.
    pub fn new(faultstring: impl Into<String>, errorcode: impl Into<String>) -> Self {
        Self {
            fault: FaultBody {
                faultstring: faultstring.into(),
                detail: FaultDetail {
                    errorcode: errorcode.into(),
                },
            },
        }
    }
}
