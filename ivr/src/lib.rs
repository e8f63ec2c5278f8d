//! Inbound call handling: IVR flows as JSON graphs of typed nodes ([`flow`]), their validation
//! ([`validate`]), time conditions ([`calendar`]), a sans-IO [`executor`] that turns a node and
//! the caller's input into the next AGI action, and the [`driver`] that runs it over an engine
//! FastAGI session, recording every step ([`record`]).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod calendar;
pub mod driver;
pub mod executor;
pub mod flow;
pub mod metrics;
pub mod problem;
pub mod record;
pub mod template;
pub mod validate;

pub use driver::{
    FlowSource, IvrConfig, IvrService, Lookup, SessionRecord, SessionSink, SessionStart,
};
pub use executor::{Action, CallInfo, Input, LoadedFlow, Walk, queue_name};
pub use flow::{FLOW_FORMAT_VERSION, Flow, Node, NodeKind, References};
pub use metrics::IvrMetrics;
pub use problem::Problem;
pub use record::{Outcome, OutcomeKind, Step};
pub use validate::{Catalog, check, validate};
