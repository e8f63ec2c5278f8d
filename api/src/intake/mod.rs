//! Lead intake from the public web: forms that people fill in on a call center's site.
//!
//! [`form`] holds what is pure: the fields a form asks for, the checks on a form's
//! definition, the server-side validation of a submission and the HTML page, which states the
//! same rules as HTML5 attributes.

pub mod form;
