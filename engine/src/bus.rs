//! The in-process event bus: live-state changes published to every subscriber (WebSocket fan-out, dialer, metrics).
