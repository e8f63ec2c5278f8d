//! Choosing the agent who calls a confirmed lead.
//!
//! Eligible: active agents of the lead's call center (members of the form's agent group when
//! it names one) holding fewer open (`assigned`) leads than the form's cap.
//!
//! - **Round robin**: the eligible agent whose last assignment is the oldest (never assigned
//!   first), ties by id. It needs no cursor, survives restarts and agents joining or leaving,
//!   and stays fair when a supervisor reassigns by hand.
//! - **Weighted**: leads in proportion to each agent's confirmation rate over the last 30 days
//!   (confirmed ÷ closed, smoothed as (c + 1) ÷ (n + 2) so that a new agent starts at ½): the
//!   agent with the fewest assignments in the window per unit of weight goes next.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, max};
use diesel::prelude::*;

use super::Stage;
use crate::db::DbConn;
use crate::db::schema::{agent_group_members, leads, users};

/// Window of the weighted strategy.
pub const WEIGHT_WINDOW_DAYS: i64 = 30;

/// How a form's leads are spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Longest since the last assignment first.
    RoundRobin,
    /// In proportion to the confirmation rate.
    Weighted,
}

impl Strategy {
    /// Reads a stored name (`round_robin`, `weighted`).
    pub fn parse(name: &str) -> Option<Strategy> {
        match name {
            "round_robin" => Some(Strategy::RoundRobin),
            "weighted" => Some(Strategy::Weighted),
            _ => None,
        }
    }
}

/// Who may receive a lead.
#[derive(Debug, Clone, Copy)]
pub struct Pool {
    /// The lead's call center.
    pub call_center_id: i64,
    /// Only members of this group, when set.
    pub group_id: Option<i64>,
    /// Open leads an agent may hold.
    pub max_open: i64,
}

/// One eligible agent and what the strategies look at.
#[derive(Debug, Clone, PartialEq)]
struct Candidate {
    user_id: i64,
    last_assigned: Option<NaiveDateTime>,
    assigned_in_window: i64,
    weight: f64,
}

/// The agent to give the next lead to, or `None` when nobody is eligible.
pub fn choose(
    conn: &mut DbConn,
    pool: Pool,
    strategy: Strategy,
    now: NaiveDateTime,
) -> QueryResult<Option<i64>> {
    let mut agents = users::table
        .filter(users::call_center_id.eq(pool.call_center_id))
        .filter(users::role.eq("agent"))
        .filter(users::active.eq(true))
        .select(users::id)
        .into_boxed();
    if let Some(group) = pool.group_id {
        agents = agents.filter(
            users::id.eq_any(
                agent_group_members::table
                    .filter(agent_group_members::group_id.eq(group))
                    .select(agent_group_members::user_id),
            ),
        );
    }
    let agents: Vec<i64> = agents.load(conn)?;
    if agents.is_empty() {
        return Ok(None);
    }
    let open = by_agent(
        leads::table
            .filter(leads::assigned_user_id.eq_any(&agents))
            .filter(leads::stage.eq(Stage::Assigned.as_str()))
            .group_by(leads::assigned_user_id)
            .select((leads::assigned_user_id, count_star()))
            .load(conn)?,
    );
    let eligible: Vec<i64> = agents
        .into_iter()
        .filter(|id| open.get(id).copied().unwrap_or(0) < pool.max_open)
        .collect();
    if eligible.is_empty() {
        return Ok(None);
    }
    let last: HashMap<i64, Option<NaiveDateTime>> = leads::table
        .filter(leads::assigned_user_id.eq_any(&eligible))
        .group_by(leads::assigned_user_id)
        .select((leads::assigned_user_id, max(leads::assigned_at)))
        .load::<(Option<i64>, Option<NaiveDateTime>)>(conn)?
        .into_iter()
        .filter_map(|(user, at)| user.map(|u| (u, at)))
        .collect();
    let since = now - chrono::Duration::days(WEIGHT_WINDOW_DAYS);
    let (recent, confirmed, closed) = if strategy == Strategy::Weighted {
        let confirmed_stages = [Stage::CallConfirmed.as_str(), Stage::Converted.as_str()];
        let closed_stages = [
            Stage::CallConfirmed.as_str(),
            Stage::Converted.as_str(),
            Stage::Rejected.as_str(),
            Stage::Unreachable.as_str(),
        ];
        let window = || {
            leads::table
                .filter(leads::assigned_user_id.eq_any(&eligible))
                .filter(leads::assigned_at.ge(since))
        };
        (
            by_agent(
                window()
                    .group_by(leads::assigned_user_id)
                    .select((leads::assigned_user_id, count_star()))
                    .load(conn)?,
            ),
            by_agent(
                window()
                    .filter(leads::stage.eq_any(confirmed_stages))
                    .group_by(leads::assigned_user_id)
                    .select((leads::assigned_user_id, count_star()))
                    .load(conn)?,
            ),
            by_agent(
                window()
                    .filter(leads::stage.eq_any(closed_stages))
                    .group_by(leads::assigned_user_id)
                    .select((leads::assigned_user_id, count_star()))
                    .load(conn)?,
            ),
        )
    } else {
        Default::default()
    };
    let candidates: Vec<Candidate> = eligible
        .into_iter()
        .map(|user_id| {
            let c = confirmed.get(&user_id).copied().unwrap_or(0) as f64;
            let n = closed.get(&user_id).copied().unwrap_or(0) as f64;
            Candidate {
                user_id,
                last_assigned: last.get(&user_id).copied().flatten(),
                assigned_in_window: recent.get(&user_id).copied().unwrap_or(0),
                weight: (c + 1.0) / (n + 2.0),
            }
        })
        .collect();
    Ok(pick(&candidates, strategy))
}

/// Per-agent counts from `(assigned_user_id, count)` rows.
fn by_agent(rows: Vec<(Option<i64>, i64)>) -> HashMap<i64, i64> {
    rows.into_iter()
        .filter_map(|(user, n)| user.map(|u| (u, n)))
        .collect()
}

/// The strategy's choice among `candidates`.
fn pick(candidates: &[Candidate], strategy: Strategy) -> Option<i64> {
    let chosen = match strategy {
        Strategy::RoundRobin => candidates
            .iter()
            .min_by_key(|c| (c.last_assigned, c.user_id)),
        Strategy::Weighted => candidates.iter().min_by(|a, b| {
            let load = |c: &Candidate| (c.assigned_in_window as f64 + 1.0) / c.weight;
            load(a)
                .total_cmp(&load(b))
                .then(a.last_assigned.cmp(&b.last_assigned))
                .then(a.user_id.cmp(&b.user_id))
        }),
    };
    chosen.map(|c| c.user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: u32) -> Option<NaiveDateTime> {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).and_then(|d| d.and_hms_opt(9, minute, 0))
    }

    fn candidate(user_id: i64, last: Option<NaiveDateTime>, recent: i64, weight: f64) -> Candidate {
        Candidate {
            user_id,
            last_assigned: last,
            assigned_in_window: recent,
            weight,
        }
    }

    #[test]
    fn round_robin_takes_the_agent_waiting_longest_and_newcomers_first() {
        let c = [
            candidate(1, at(5), 0, 0.5),
            candidate(2, at(1), 0, 0.5),
            candidate(3, at(9), 0, 0.5),
        ];
        assert_eq!(pick(&c, Strategy::RoundRobin), Some(2));
        let with_new = [candidate(4, None, 0, 0.5), c[0].clone()];
        assert_eq!(pick(&with_new, Strategy::RoundRobin), Some(4));
        assert_eq!(pick(&[], Strategy::RoundRobin), None);
    }

    #[test]
    fn weighted_gives_more_to_the_better_agent_in_proportion() {
        // Agent 1 confirms 3 in 4 (weight 0.75), agent 2 one in 4 (0.25): over many
        // assignments agent 1 gets three times as many.
        let mut c = [candidate(1, None, 0, 0.75), candidate(2, None, 0, 0.25)];
        let mut given = [0, 0];
        for minute in 0..40 {
            let Some(chosen) = pick(&c, Strategy::Weighted) else {
                panic!("someone is eligible")
            };
            let i = usize::from(chosen == 2);
            given[i] += 1;
            c[i].assigned_in_window += 1;
            c[i].last_assigned = at(minute);
        }
        assert_eq!(given, [30, 10]);
    }
}
