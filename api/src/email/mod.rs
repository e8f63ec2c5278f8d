//! Email: [`template`] rendering of `{{variables}}`, [`smtp`] delivery with lettre over rustls,
//! the durable [`Outbox`] and the [`worker`] that drains it.

pub mod smtp;
pub mod template;
pub mod worker;

pub use crate::models::email_outbox::{Enqueue, Outbox, OutboxEmail};
