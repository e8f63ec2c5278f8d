//! Prints the PACE-1 table: `cargo run --release -p callpro-dialer --example pace1 --
//! [SCENARIO|all] [POLICY] [SEEDS] [--json]`, e.g. `all predictive 1..5`.

use callpro_dialer::pacing::PacingMode;
use callpro_dialer::sim::{self, Scenario, Seeds};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let scenarios = Scenario::parse(pos.first().map_or("all", |s| s.as_str()))?;
    let mut mode = PacingMode::from_name(pos.get(1).map_or("predictive", |s| s.as_str()))?;
    // PACE1_CONFIG='{"gain":1.0}' overrides predictive settings while tuning on seeds 1..5.
    if let (PacingMode::Predictive(_), Ok(cfg)) = (&mode, std::env::var("PACE1_CONFIG")) {
        mode = PacingMode::Predictive(serde_json::from_str(&cfg)?);
    }
    let seeds: Seeds = pos.get(2).map_or(Ok(Seeds::TUNING), |s| s.parse())?;
    let mut reports = Vec::new();
    for s in scenarios {
        let r = sim::run(s, &mode, seeds)?;
        if !json {
            eprint!("{}", sim::format_table(std::slice::from_ref(&r)));
        }
        reports.push(r);
    }
    if json {
        println!("{}", sim::to_json(&reports)?);
    } else {
        println!("{}", sim::format_table(&reports));
    }
    Ok(())
}
