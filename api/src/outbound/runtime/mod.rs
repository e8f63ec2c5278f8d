//! The dialer runtime: a supervisor per callpro instance and a driver per running campaign.
//!
//! The supervisor looks for running campaigns every few seconds and takes a lease on each one
//! no other instance holds (`campaigns.runner` / `lease_until`), so a campaign is dialed by
//! exactly one instance and picked up by another when its holder dies. For each campaign it
//! holds, a [`Driver`] task:
//!
//! 1. on 1 s ticks, renews the lease (a paused or stopped campaign loses it and stops placing
//!    calls), asks the campaign's pacer how many lines to open given its agents' live states
//!    and the calls in flight, claims that many leads from the hopper and originates them
//!    through [`Telephony`] as `Local/<number>@callpro-dialer` on the trunk of the agents' site;
//! 2. follows every attempt to its outcome: the originate's result (refined by the dial status
//!    Asterisk reported, since a busy trunk behind a `Local/` channel answers `Reason: 0`), the
//!    answering-machine verdict when AMD is on, and the end of connected calls;
//! 3. moves each live answer into the session bridge of the campaign's longest-idle ready agent,
//!    or after [`DialerConfig::connect_within`] without one, to the drop message, counting an
//!    abandon;
//! 4. records every step in `call_attempts` and moves the lead on (see [`super::attempts`]),
//!    feeds the pacer what happened and publishes the campaign's progress on the bus.
//!
//! When the lease is lost the driver places no new call, follows the ones in progress to their
//! end, then gives the campaign up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use callpro_engine::bus::CampaignProgress;
use callpro_engine::telephony::Telephony;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::models::campaign::Campaign;
use crate::state::AppState;

mod driver;

use driver::Driver;

/// Timing of the runtime.
#[derive(Debug, Clone, Copy)]
pub struct DialerConfig {
    /// Pacing decisions, lease renewals and progress reports.
    pub tick: Duration,
    /// How often the supervisor looks for running campaigns.
    pub scan: Duration,
    /// How long a campaign's lease holds without renewal.
    pub lease: Duration,
    /// Longest wait between a live answer and its connection to an agent before the call is
    /// abandoned (2 s under every regulatory profile).
    pub connect_within: Duration,
    /// Longest answering-machine detection before the call is taken for a person.
    pub amd_timeout: Duration,
    /// Polling of waiting calls (between bus events) while some wait for an agent or AMD.
    pub poll: Duration,
    /// How often agents and trunks are re-read.
    pub refresh: Duration,
}

impl Default for DialerConfig {
    fn default() -> Self {
        Self {
            tick: Duration::from_secs(1),
            scan: Duration::from_secs(2),
            lease: Duration::from_secs(20),
            connect_within: Duration::from_secs(2),
            amd_timeout: Duration::from_secs(8),
            poll: Duration::from_millis(50),
            refresh: Duration::from_secs(15),
        }
    }
}

/// The latest progress of every campaign this instance dials, for `GET /api/campaigns/{id}/stats`.
#[derive(Debug, Clone, Default)]
pub struct Board(Arc<RwLock<HashMap<i64, CampaignProgress>>>);

impl Board {
    /// The campaign's progress, while this instance dials it.
    pub fn get(&self, campaign_id: i64) -> Option<CampaignProgress> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&campaign_id)
            .cloned()
    }

    fn set(&self, progress: CampaignProgress) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(progress.campaign_id, progress);
    }

    fn remove(&self, campaign_id: i64) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&campaign_id);
    }
}

/// Agents promised to a call, across this instance's campaigns (an agent may staff several).
#[derive(Debug, Clone, Default)]
struct Reservations(Arc<Mutex<HashMap<i64, String>>>);

impl Reservations {
    fn try_reserve(&self, agent: i64, call_ref: &str) -> bool {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get(&agent) {
            Some(holder) => holder == call_ref,
            None => {
                map.insert(agent, call_ref.to_owned());
                true
            }
        }
    }

    fn release(&self, agent: i64, call_ref: &str) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.get(&agent).is_some_and(|holder| holder == call_ref) {
            map.remove(&agent);
        }
    }
}

/// The running dialer of this instance.
#[derive(Debug)]
pub struct DialerHandle {
    runner: String,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl DialerHandle {
    /// This instance's name in `campaigns.runner` and `leads.claimed_by`.
    pub fn runner(&self) -> &str {
        &self.runner
    }

    /// Stops placing calls, gives every campaign up and waits for the drivers to end. Calls in
    /// progress go on in Asterisk; an answered one nobody connects ends in the drop message.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "dialer supervisor ended abnormally");
        }
    }
}

/// Starts the dialer over the engine's telephony; `None` when there is none (no AMI).
pub fn spawn(state: AppState, config: DialerConfig) -> Option<DialerHandle> {
    let telephony = state.engine.telephony.clone()?;
    let runner = format!(
        "{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(supervise(state, telephony, config, runner.clone(), stopped));
    Some(DialerHandle { runner, stop, task })
}

async fn supervise(
    state: AppState,
    telephony: Arc<dyn Telephony>,
    config: DialerConfig,
    runner: String,
    mut stop: watch::Receiver<bool>,
) {
    let reservations = Reservations::default();
    let mut drivers: HashMap<i64, JoinHandle<()>> = HashMap::new();
    let mut every = tokio::time::interval(config.scan);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!(runner = %runner, "dialer started");
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = every.tick() => {}
        }
        drivers.retain(|_, task| !task.is_finished());
        let running = state
            .db
            .run(|conn| Ok(Campaign::with_status(conn, "running")?))
            .await;
        let running = match running {
            Ok(list) => list,
            Err(e) => {
                tracing::warn!(error = %e, "dialer: cannot list running campaigns");
                continue;
            }
        };
        for campaign in running {
            if drivers.contains_key(&campaign.id) || campaign.mode == "preview" {
                continue;
            }
            let Some(driver) = Driver::take(
                &state,
                &telephony,
                &config,
                &runner,
                &reservations,
                campaign,
            )
            .await
            else {
                continue;
            };
            let id = driver.campaign_id();
            drivers.insert(id, tokio::spawn(driver.run(stop.clone())));
        }
    }
    for (_, task) in drivers {
        let _ = task.await;
    }
    tracing::info!(runner = %runner, "dialer stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_hold_an_agent_for_one_call() {
        let r = Reservations::default();
        assert!(r.try_reserve(7, "a"));
        assert!(r.try_reserve(7, "a"));
        assert!(!r.try_reserve(7, "b"));
        r.release(7, "b");
        assert!(!r.try_reserve(7, "b"));
        r.release(7, "a");
        assert!(r.try_reserve(7, "b"));
    }
}
