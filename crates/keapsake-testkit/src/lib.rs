//! placeholder until the server skeleton lands
