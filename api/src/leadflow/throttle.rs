//! Rate limits of the public intake, per client address and per form, in memory (each
//! instance enforces its own share; the database is not touched for a refused post).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How often (in checks) idle keys are forgotten, so a flood of addresses cannot grow the maps.
const PRUNE_EVERY: u64 = 4096;

/// Posts allowed per minute, per address and per form; `0` turns a limit off.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Per client address.
    pub per_ip_per_minute: u32,
    /// Per form.
    pub per_form_per_minute: u32,
}

/// The intake's limiters; cheap to clone.
#[derive(Clone)]
pub struct IntakeThrottle {
    per_ip: Option<Arc<DefaultKeyedRateLimiter<String>>>,
    per_form: Option<Arc<DefaultKeyedRateLimiter<i64>>>,
    checks: Arc<AtomicU64>,
}

impl std::fmt::Debug for IntakeThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntakeThrottle")
            .field("per_ip", &self.per_ip.is_some())
            .field("per_form", &self.per_form.is_some())
            .finish()
    }
}

fn keyed<K: std::hash::Hash + Eq + Clone>(
    per_minute: u32,
) -> Option<Arc<DefaultKeyedRateLimiter<K>>> {
    NonZeroU32::new(per_minute).map(|n| Arc::new(RateLimiter::keyed(Quota::per_minute(n))))
}

impl IntakeThrottle {
    /// Limiters for `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            per_ip: keyed(limits.per_ip_per_minute),
            per_form: keyed(limits.per_form_per_minute),
            checks: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Counts one post of `form` from `ip`; `Err(seconds)` to wait when a limit is reached.
    pub fn check(&self, ip: &str, form: i64) -> Result<(), u64> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.prune();
        }
        // Read the clock only for a refusal: making one reads the CPU's timer calibration.
        let wait = |not_until: governor::NotUntil<_>| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        };
        if let Some(limiter) = &self.per_ip {
            limiter.check_key(&ip.to_owned()).map_err(wait)?;
        }
        if let Some(limiter) = &self.per_form {
            limiter.check_key(&form).map_err(wait)?;
        }
        Ok(())
    }

    fn prune(&self) {
        if let Some(limiter) = &self.per_ip {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(limiter) = &self.per_form {
            limiter.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_address_and_each_form() {
        let t = IntakeThrottle::new(Limits {
            per_ip_per_minute: 3,
            per_form_per_minute: 5,
        });
        for _ in 0..3 {
            assert_eq!(t.check("10.0.0.1", 1), Ok(()));
        }
        assert!(
            t.check("10.0.0.1", 1).is_err(),
            "fourth post from one address"
        );
        assert_eq!(t.check("10.0.0.2", 1), Ok(()));
        assert_eq!(t.check("10.0.0.3", 1), Ok(()));
        assert!(t.check("10.0.0.4", 1).is_err(), "sixth post to one form");
        assert_eq!(
            t.check("10.0.0.4", 2),
            Ok(()),
            "another form has its own budget"
        );
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let t = IntakeThrottle::new(Limits {
            per_ip_per_minute: 0,
            per_form_per_minute: 0,
        });
        for _ in 0..10_000 {
            assert_eq!(t.check("10.0.0.1", 1), Ok(()));
        }
    }
}
