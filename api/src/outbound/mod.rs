//! Outbound dialing wired to the database: the hopper's selection and claims.

pub mod hopper;
