//! Fuzzes IVR flow definitions: arbitrary bytes as JSON through parsing and validation, and
//! every flow that validates walked by the executor with caller input taken from the same
//! bytes. Must give problems or an outcome, never a panic or a walk that does not end.
#![no_main]

use std::collections::HashMap;
use std::sync::Arc;

use callpro_ivr::{Action, CallInfo, Catalog, Input, LoadedFlow, Walk, check};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(definition) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let catalog = Catalog {
        prompts: ["p".to_owned(), "q".to_owned()].into(),
        groups: [1, 2].into(),
        agents: [1].into(),
        trunks: ["gw".to_owned()].into(),
        flows: [2].into(),
        this_flow: Some(1),
        time_zone: Some("Europe/Paris".to_owned()),
    };
    let Ok(flow) = check(&definition, &catalog) else {
        return;
    };
    let loaded = LoadedFlow {
        call_center_id: 1,
        flow_id: 1,
        version: 1,
        time_zone: catalog.time_zone.clone(),
        flow: Arc::new(flow),
        agents: HashMap::from([(1, "100".to_owned())]),
    };
    let mut walk = Walk::new(loaded, &CallInfo::default());
    let mut keys = data.iter().cycle().take(data.len());
    let now = chrono::Utc::now();
    let mut input = Input::Start;
    for _ in 0..100_000 {
        let key = keys.next().copied();
        input = match walk.advance(input, now) {
            Action::Finish(_) => return,
            Action::Play { .. } | Action::WaitDigit { .. } => {
                Input::Digit(key.map(|b| char::from(b'0' + b % 10)))
            }
            Action::GetData { .. } => Input::Data {
                digits: key.map(|b| b.to_string()).unwrap_or_default(),
                timed_out: key.is_none(),
            },
            Action::Http(_) => Input::Http(Err("offline".to_owned())),
            Action::Exec { .. } => Input::Exec {
                result: 0,
                status: key.filter(|b| b % 2 == 0).map(|_| "TIMEOUT".to_owned()),
                answered_by: None,
            },
            Action::LoadFlow { .. } => Input::Flow(None),
            _ => Input::Done,
        };
    }
    panic!("the walk did not end after 100000 actions");
});
