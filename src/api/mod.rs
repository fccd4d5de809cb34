//! The HTTP API served by `actionsync serve`.

pub mod wire;
