//! Outbound dialing for callpro: the campaign model, the hopper that picks the next lead, the
//! pacing policies (preview, progressive, power, predictive), the compliance rules and the
//! discrete-event call-center simulator that judges pacing.
//!
//! Every part here is sans-IO: events in, decisions out. The management layer drives it.
