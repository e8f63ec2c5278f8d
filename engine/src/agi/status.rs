//! Live state of the FastAGI server for `/health`: where it listens, whether it accepts, how many
//! sessions run. A cheap-to-clone handle shared between the server and the API layer.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// A point-in-time copy of the server state, ready to serialize into a health report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgiHealth {
    /// The bound address, once the server runs.
    pub listening: Option<SocketAddr>,
    /// False before `run`, and from the shutdown signal on.
    pub accepting: bool,
    /// Sessions currently running a handler.
    pub active_sessions: usize,
    /// The configured cap.
    pub max_sessions: usize,
}

#[derive(Debug, Default)]
struct Inner {
    listening: Mutex<Option<SocketAddr>>,
    accepting: AtomicBool,
    active: AtomicUsize,
    max_sessions: usize,
}

/// Shared, observable server state.
#[derive(Clone, Debug, Default)]
pub struct AgiStatus(Arc<Inner>);

impl AgiStatus {
    pub(crate) fn new(max_sessions: usize) -> AgiStatus {
        AgiStatus(Arc::new(Inner {
            max_sessions,
            ..Inner::default()
        }))
    }

    /// The address the server listens on, once it runs.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        // A poisoned lock only means a panic elsewhere while storing a Copy value: still valid.
        *self.0.listening.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True while the accept loop runs.
    pub fn is_accepting(&self) -> bool {
        self.0.accepting.load(Ordering::Relaxed)
    }

    /// Sessions currently running a handler.
    pub fn active_sessions(&self) -> usize {
        self.0.active.load(Ordering::Relaxed)
    }

    /// A snapshot for a health report.
    pub fn snapshot(&self) -> AgiHealth {
        AgiHealth {
            listening: self.local_addr(),
            accepting: self.is_accepting(),
            active_sessions: self.active_sessions(),
            max_sessions: self.0.max_sessions,
        }
    }

    pub(crate) fn set_listening(&self, addr: Option<SocketAddr>, accepting: bool) {
        *self.0.listening.lock().unwrap_or_else(|e| e.into_inner()) = addr;
        self.0.accepting.store(accepting, Ordering::Relaxed);
    }

    pub(crate) fn set_accepting(&self, accepting: bool) {
        self.0.accepting.store(accepting, Ordering::Relaxed);
    }

    pub(crate) fn session_started(&self) {
        self.0.active.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn session_ended(&self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}
