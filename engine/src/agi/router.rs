//! Routing of FastAGI calls by script path (`agi://host/ivr?did=...` → `ivr`) to handlers.
//!
//! A handler is any `Fn(AgiSession) -> impl Future<Output = HandlerResult>`, typically an
//! `async fn`; the router stores it as `Arc<dyn Handler>` so flows can be registered at run
//! time (the IVR layer adds one per published flow). Handlers own the session: when they return,
//! the session drops and the socket closes, which ends the AGI.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::session::AgiSession;

/// What a handler may fail with: any error, logged once by the server.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// The result of a handler.
pub type HandlerResult = Result<(), HandlerError>;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Runs one AGI call to its end.
pub trait Handler: Send + Sync + 'static {
    /// Takes over the session; returning (or dropping it) closes the connection.
    fn call(&self, session: AgiSession) -> BoxFuture<HandlerResult>;
}

impl<F, Fut> Handler for F
where
    F: Fn(AgiSession) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    fn call(&self, session: AgiSession) -> BoxFuture<HandlerResult> {
        Box::pin(self(session))
    }
}

/// Script path → handler, plus a fallback for unknown scripts.
#[derive(Clone)]
pub struct Router {
    routes: HashMap<String, Arc<dyn Handler>>,
    fallback: Arc<dyn Handler>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut paths: Vec<&str> = self.routes.keys().map(String::as_str).collect();
        paths.sort_unstable();
        f.debug_struct("Router").field("routes", &paths).finish()
    }
}

impl Default for Router {
    fn default() -> Self {
        Router::new()
    }
}

/// Paths are matched without leading or trailing slashes: `/ivr`, `ivr` and `ivr/` are one route.
fn normalize(path: &str) -> &str {
    path.trim_matches('/')
}

impl Router {
    /// An empty router whose fallback is [`unknown_script`].
    pub fn new() -> Router {
        Router {
            routes: HashMap::new(),
            fallback: Arc::new(unknown_script),
        }
    }

    /// Adds (or replaces) the handler for `path`.
    pub fn route(mut self, path: &str, handler: impl Handler) -> Router {
        self.insert(path, Arc::new(handler));
        self
    }

    /// Adds (or replaces) an already shared handler for `path`.
    pub fn insert(&mut self, path: &str, handler: Arc<dyn Handler>) {
        self.routes.insert(normalize(path).to_owned(), handler);
    }

    /// Replaces the handler for scripts no route matches.
    pub fn fallback(mut self, handler: impl Handler) -> Router {
        self.fallback = Arc::new(handler);
        self
    }

    /// The handler for `script` (the path part of `agi_network_script`), if one is routed.
    pub fn get(&self, script: &str) -> Option<&Arc<dyn Handler>> {
        self.routes.get(normalize(script))
    }

    /// The routed handler for `script`, or the fallback.
    pub fn resolve(&self, script: &str) -> &Arc<dyn Handler> {
        self.get(script).unwrap_or(&self.fallback)
    }
}

/// The default fallback: logs the unknown script, sets `CALLPRO_AGI_ERROR=unknown_script` so the
/// dialplan can tell why the AGI ended, and closes.
pub async fn unknown_script(mut session: AgiSession) -> HandlerResult {
    tracing::warn!(
        agi.script = %session.request().script,
        agi.uniqueid = %session.request().uniqueid,
        "no AGI handler for this script; closing"
    );
    session
        .set_variable("CALLPRO_AGI_ERROR", "unknown_script")
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn nothing(_: AgiSession) -> HandlerResult {
        Ok(())
    }

    #[test]
    fn paths_are_normalised() {
        let router = Router::new()
            .route("/ivr", nothing)
            .route("outbound/answered/", nothing);
        assert!(router.get("ivr").is_some());
        assert!(router.get("/ivr/").is_some());
        assert!(router.get("outbound/answered").is_some());
        assert!(router.get("test").is_none());
        assert_eq!(
            format!("{router:?}"),
            r#"Router { routes: ["ivr", "outbound/answered"] }"#
        );
    }
}
