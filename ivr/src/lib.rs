//! Inbound call handling for callpro: IVR flow graphs, their validation, calendars and time
//! conditions, and a sans-IO executor that turns a flow plus caller input into AGI commands.
//!
//! The FastAGI transport lives in the engine; this crate decides what the caller hears next.
