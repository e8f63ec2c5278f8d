//! Printing PACE-1 results: a plain-text table for people, JSON for tools.

use std::fmt::Write as _;

use super::metrics::ScenarioReport;
use crate::Result;

/// A plain-text table, one row per report, with the PACE-1 columns.
pub fn format_table(reports: &[ScenarioReport]) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail, hence the ignored fmt::Results.
    out.push_str(
        "scenario        policy        talk  occ%   abn% abnp95  abn1h dials/h conn/h idle/c lines      G ok\n",
    );
    for r in reports {
        let gap = match (r.policy.as_str(), r.gap_closed) {
            ("progressive", _) | (_, None) => "-".to_owned(),
            (_, Some(g)) => format!("{g:.2}"),
        };
        let _ = writeln!(
            out,
            "{:<15} {:<11} {:>6.1} {:>5.1} {:>6.2} {:>6.2} {:>6.2} {:>7.1} {:>6.1} {:>6.1} {:>5.2} {:>6} {}",
            r.scenario,
            r.policy,
            r.talk_min_per_agent_hour,
            100.0 * r.occupancy,
            r.abandon_pct_mean,
            r.abandon_pct_p95,
            r.abandon_pct_max_1h,
            r.dials_per_agent_hour,
            r.connects_per_agent_hour,
            r.idle_s_per_connect,
            r.peak_lines_per_agent,
            gap,
            if r.legal { "yes" } else { "NO" },
        );
    }
    out
}

/// The reports as pretty-printed JSON (an array of objects, field names as in
/// [`ScenarioReport`]).
pub fn to_json(reports: &[ScenarioReport]) -> Result<String> {
    Ok(serde_json::to_string_pretty(reports)?)
}
