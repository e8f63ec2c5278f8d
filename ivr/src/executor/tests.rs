//! Executor tests: one scenario per node type against a scripted caller, and the property that
//! every flow passing validation ends for any finite caller input.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{Value, json};

use super::*;
use crate::validate::{Catalog, check};

/// What the scripted caller does when asked for input.
#[derive(Clone, Debug)]
enum Key {
    /// Presses these digits (one per digit prompt, all of them for `GET DATA`).
    Press(&'static str),
    /// Says nothing until the timeout.
    Silence,
}

/// A scripted call: caller keys, answers of the services, and when the caller hangs up.
#[derive(Default)]
struct Script {
    keys: VecDeque<Key>,
    exec: VecDeque<(i32, Option<&'static str>)>,
    http: VecDeque<Result<Value, String>>,
    flows: HashMap<i64, LoadedFlow>,
    /// Hang up when this many actions have been answered.
    hang_up_after: Option<usize>,
}

struct Run {
    actions: Vec<Action>,
    outcome: Outcome,
    steps: Vec<Step>,
    vars: BTreeMap<String, String>,
}

fn t0() -> DateTime<Utc> {
    // Wednesday 2 December 2026, 10:00 in Paris.
    DateTime::parse_from_rfc3339("2026-12-02T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn loaded(definition: Value) -> LoadedFlow {
    LoadedFlow {
        call_center_id: 1,
        flow_id: 10,
        version: 1,
        time_zone: Some("Europe/Paris".to_owned()),
        flow: Arc::new(Flow::parse(&definition).unwrap()),
        agents: HashMap::from([(5, "1005".to_owned())]),
    }
}

fn call() -> CallInfo {
    CallInfo {
        did: "33100000000".to_owned(),
        caller_id: "33612345678".to_owned(),
        caller_name: "Ada".to_owned(),
        uniqueid: "1700000000.1".to_owned(),
        channel: "PJSIP/gw-0001".to_owned(),
        language: "fr".to_owned(),
    }
}

fn digit_of(key: Option<Key>) -> Option<char> {
    match key {
        Some(Key::Press(d)) => d.chars().next(),
        _ => None,
    }
}

fn run_at(flow: LoadedFlow, mut script: Script, now: DateTime<Utc>) -> Run {
    let mut walk = Walk::new(flow, &call());
    let mut actions = Vec::new();
    let mut input = Input::Start;
    let mut clock = now;
    loop {
        let action = walk.advance(input, clock);
        clock += ChronoDuration::milliseconds(100);
        if let Action::Finish(outcome) = action {
            return Run {
                actions,
                outcome,
                steps: walk.steps().to_vec(),
                vars: walk.variables().clone(),
            };
        }
        assert!(actions.len() < 100_000, "walk does not end: {walk:?}");
        actions.push(action.clone());
        if script.hang_up_after == Some(actions.len()) {
            input = Input::HungUp;
            continue;
        }
        input = match action {
            Action::Answer | Action::SetVariable { .. } | Action::Hangup => Input::Done,
            Action::Play {
                escape_digits: "", ..
            } => Input::Digit(None),
            Action::Play { .. } | Action::WaitDigit { .. } => {
                Input::Digit(digit_of(script.keys.pop_front()))
            }
            Action::GetData { .. } => match script.keys.pop_front() {
                Some(Key::Press(digits)) => Input::Data {
                    digits: digits.to_owned(),
                    timed_out: false,
                },
                _ => Input::Data {
                    digits: String::new(),
                    timed_out: true,
                },
            },
            Action::Http(_) => Input::Http(
                script
                    .http
                    .pop_front()
                    .unwrap_or_else(|| Err("no answer".to_owned())),
            ),
            Action::Exec { .. } => {
                let (result, status) = script.exec.pop_front().unwrap_or((0, Some("FAILED")));
                Input::Exec {
                    result,
                    status: status.map(str::to_owned),
                    // An unset QUEUESTATUS with result 0: an agent took the call.
                    answered_by: (status.is_none() && result >= 0)
                        .then(|| "Local/5@callpro-agent-bridge".to_owned()),
                }
            }
            Action::LoadFlow { flow_id } => Input::Flow(script.flows.get(&flow_id).cloned()),
            Action::Finish(_) => unreachable!(),
        };
    }
}

fn run(definition: Value, script: Script) -> Run {
    run_at(loaded(definition), script, t0())
}

fn path(run: &Run) -> Vec<(String, Option<String>)> {
    run.steps
        .iter()
        .map(|s| (s.node.clone(), s.exit.clone()))
        .collect()
}

fn step(node: &str, exit: Option<&str>) -> (String, Option<String>) {
    (node.to_owned(), exit.map(str::to_owned))
}

fn menu_flow() -> Value {
    json!({"start": "answer", "nodes": [
        {"id": "answer", "type": "answer", "exits": {"next": "menu"}},
        {"id": "menu", "type": "menu", "prompt": "menu", "timeout_ms": 3000, "max_retries": 2,
         "invalid_prompt": "invalid", "timeout_prompt": "noinput",
         "exits": {"1": "sales", "2": null, "invalid": "bye", "timeout": "bye"}},
        {"id": "sales", "type": "queue", "group_id": 3, "max_wait_secs": 60,
         "exits": {"answered": null, "timeout": "vm", "full": "vm", "unavailable": "vm", "failed": "bye"}},
        {"id": "vm", "type": "voicemail", "mailbox": "100@callpro", "exits": {"next": "bye"}},
        {"id": "bye", "type": "hangup"}
    ]})
}

#[test]
fn answer_and_menu_route_on_a_digit() {
    let run = run(
        menu_flow(),
        Script {
            keys: [Key::Press("1")].into(),
            exec: [(0, None)].into(),
            ..Script::default()
        },
    );
    assert_eq!(run.actions[0], Action::Answer);
    assert_eq!(
        run.actions[1],
        Action::Play {
            file: "menu".into(),
            escape_digits: MENU_DIGITS
        }
    );
    assert_eq!(
        run.actions[2],
        Action::Exec {
            app: "Queue",
            args: "callpro-group-3,,,,60".into(),
            status_variable: "QUEUESTATUS",
            answered_variable: Some("MEMBERINTERFACE")
        }
    );
    assert_eq!(run.outcome.kind, OutcomeKind::Queued);
    assert_eq!(run.outcome.detail.as_deref(), Some("callpro-group-3"));
    assert_eq!(
        path(&run),
        [
            step("answer", Some("next")),
            step("menu", Some("1")),
            step("sales", Some("answered")),
        ]
    );
    assert_eq!(run.steps[1].input.as_deref(), Some("1"));
}

#[test]
fn menu_retries_invalid_and_timeout_then_gives_up() {
    // 7 (invalid) → invalid prompt → menu → silence → wait → silence → no-input prompt → menu
    // → silence → wait → silence: retries exhausted on a timeout.
    let run = run(
        menu_flow(),
        Script {
            keys: [Key::Press("7")].into(),
            ..Script::default()
        },
    );
    let plays: Vec<&str> = run
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Play { file, .. } => Some(file.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(plays, ["menu", "invalid", "menu", "noinput", "menu"]);
    assert_eq!(run.steps[1].input.as_deref(), Some("7,timeout,timeout"));
    assert_eq!(run.steps[1].exit.as_deref(), Some("timeout"));
    assert_eq!(run.outcome.kind, OutcomeKind::Hangup);
    assert_eq!(run.outcome.node.as_deref(), Some("bye"));
}

#[test]
fn a_digit_during_the_feedback_prompt_counts() {
    let run = run(
        menu_flow(),
        Script {
            keys: [Key::Press("9"), Key::Press("2")].into(),
            ..Script::default()
        },
    );
    assert_eq!(path(&run)[1], step("menu", Some("2")));
    assert_eq!(run.outcome.kind, OutcomeKind::Completed);
}

#[test]
fn caller_hang_up_mid_prompt_ends_the_walk_as_abandoned() {
    let run = run(
        menu_flow(),
        Script {
            hang_up_after: Some(2),
            ..Script::default()
        },
    );
    assert_eq!(run.actions.len(), 2);
    assert_eq!(run.outcome.kind, OutcomeKind::Abandoned);
    assert_eq!(run.outcome.node.as_deref(), Some("menu"));
    assert_eq!(
        path(&run),
        [step("answer", Some("next")), step("menu", None)]
    );
}

#[test]
fn a_caller_giving_up_in_the_queue_is_abandoned_there() {
    let run = run(
        menu_flow(),
        Script {
            keys: [Key::Press("1")].into(),
            exec: [(-1, None)].into(),
            ..Script::default()
        },
    );
    assert_eq!(run.outcome.kind, OutcomeKind::Abandoned);
    assert_eq!(run.outcome.node.as_deref(), Some("sales"));
    assert_eq!(run.outcome.detail.as_deref(), Some("callpro-group-3"));
}

#[test]
fn queue_timeout_goes_to_voicemail() {
    let run = run(
        menu_flow(),
        Script {
            keys: [Key::Press("1")].into(),
            exec: [(0, Some("TIMEOUT")), (0, Some("SUCCESS"))].into(),
            ..Script::default()
        },
    );
    assert_eq!(
        run.actions[3],
        Action::Exec {
            app: "VoiceMail",
            args: "100@callpro,u".into(),
            status_variable: "VMSTATUS",
            answered_variable: None
        }
    );
    // The flow hangs up after the message; the call still counts as voicemail.
    assert_eq!(run.outcome.kind, OutcomeKind::Voicemail);
    assert_eq!(run.outcome.detail.as_deref(), Some("100@callpro"));
    assert_eq!(run.outcome.node.as_deref(), Some("bye"));
}

#[test]
fn playback_plays_each_prompt_and_keeps_a_typed_ahead_digit() {
    let definition = json!({"start": "p", "nodes": [
        {"id": "p", "type": "playback", "prompts": ["a", "b", "c"], "interruptible": true,
         "exits": {"next": "m"}},
        {"id": "m", "type": "menu", "prompt": "menu", "exits": {"3": null, "invalid": null, "timeout": null}}
    ]});
    // Silence: three prompts, then the menu prompt and its wait, tried three times.
    let run1 = run(definition.clone(), Script::default());
    assert_eq!(run1.actions.len(), 9, "{:?}", run1.actions);
    let run2 = run(
        definition,
        Script {
            keys: [Key::Silence, Key::Press("3")].into(),
            ..Script::default()
        },
    );
    // "a" plays out, "3" interrupts "b"; the menu takes the 3 without playing its prompt.
    assert_eq!(run2.actions.len(), 2);
    assert_eq!(path(&run2), [step("p", Some("next")), step("m", Some("3"))]);
    assert_eq!(run2.outcome.kind, OutcomeKind::Completed);
}

#[test]
fn collect_validates_length_and_stores_the_digits() {
    let definition = json!({"start": "c", "nodes": [
        {"id": "c", "type": "collect", "prompt": "account", "variable": "ACCOUNT",
         "min_digits": 4, "max_digits": 6, "max_retries": 1, "invalid_prompt": "invalid",
         "exits": {"next": null, "invalid": null, "timeout": null}}
    ]});
    let ok = run(
        definition.clone(),
        Script {
            keys: [Key::Press("12"), Key::Press("123456")].into(),
            ..Script::default()
        },
    );
    assert_eq!(ok.vars.get("ACCOUNT").map(String::as_str), Some("123456"));
    assert_eq!(ok.steps[0].input.as_deref(), Some("12,123456"));
    assert_eq!(ok.steps[0].exit.as_deref(), Some("next"));
    let files: Vec<&Action> = ok.actions.iter().collect();
    assert!(matches!(files[1], Action::Play { file, .. } if file == "invalid"));
    let silent = run(definition, Script::default());
    assert_eq!(silent.steps[0].exit.as_deref(), Some("timeout"));
    assert!(!silent.vars.contains_key("ACCOUNT"));
}

#[test]
fn calendar_routes_by_local_time_and_holidays() {
    let definition = json!({"start": "cal", "nodes": [
        {"id": "cal", "type": "calendar",
         "weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "18:00"}],
         "holidays": [{"from": "2026-12-25"}],
         "exits": {"open": "open", "closed": "closed"}},
        {"id": "open", "type": "hangup"},
        {"id": "closed", "type": "hangup"}
    ]});
    let at = |text: &str| {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    };
    let open = run_at(loaded(definition.clone()), Script::default(), t0());
    assert_eq!(open.outcome.node.as_deref(), Some("open"));
    let night = run_at(
        loaded(definition.clone()),
        Script::default(),
        at("2026-12-02T20:00:00Z"),
    );
    assert_eq!(night.outcome.node.as_deref(), Some("closed"));
    let christmas = run_at(
        loaded(definition),
        Script::default(),
        at("2026-12-25T10:00:00Z"),
    );
    assert_eq!(christmas.outcome.node.as_deref(), Some("closed"));
}

#[test]
fn variables_conditions_and_lookups() {
    let definition = json!({"start": "set", "nodes": [
        {"id": "set", "type": "set_variable", "variable": "ORIGIN", "value": "did-${DID}",
         "exits": {"next": "lookup"}},
        {"id": "lookup", "type": "http_lookup", "method": "POST",
         "url": "https://crm.example/lookup/${CALLER_ID}?n=${CALLER_NAME}",
         "headers": {"X-Origin": "${ORIGIN}"}, "body": {"caller": "${CALLER_ID}"},
         "set": {"TIER": "/customer/tier", "NAME": "/customer/name", "NOTHING": "/missing"},
         "exits": {"ok": "vip", "failure": "fallback"}},
        {"id": "vip", "type": "condition", "subject": "${TIER}",
         "cases": [{"exit": "gold", "op": "equals", "values": ["gold", "platinum"]}],
         "exits": {"gold": "agent", "default": null}},
        {"id": "agent", "type": "transfer", "target": {"agent": 5}, "ring_secs": 20,
         "exits": {"answered": null, "busy": "fallback", "no_answer": "fallback", "failed": "fallback"}},
        {"id": "fallback", "type": "transfer", "target": {"number": {"number": "+33100000001", "trunk": "gw"}},
         "exits": {"answered": null, "busy": null, "no_answer": null, "failed": null}}
    ]});
    let gold = run(
        definition.clone(),
        Script {
            http: [Ok(json!({"customer": {"tier": "gold", "name": "Ada L."}}))].into(),
            exec: [(0, Some("ANSWER"))].into(),
            ..Script::default()
        },
    );
    assert_eq!(
        gold.actions[0],
        Action::SetVariable {
            name: "ORIGIN".into(),
            value: "did-33100000000".into()
        }
    );
    let Action::Http(request) = &gold.actions[1] else {
        panic!("expected a lookup, got {:?}", gold.actions[1]);
    };
    assert_eq!(request.url, "https://crm.example/lookup/33612345678?n=Ada");
    assert_eq!(
        request.headers,
        [("X-Origin".to_owned(), "did-33100000000".to_owned())]
    );
    assert_eq!(request.body, Some(json!({"caller": "33612345678"})));
    assert_eq!(gold.vars["TIER"], "gold");
    assert_eq!(gold.vars["NOTHING"], "");
    assert_eq!(
        gold.actions[2],
        Action::Exec {
            app: "Dial",
            args: "PJSIP/1005,20".into(),
            status_variable: "DIALSTATUS",
            answered_variable: None
        }
    );
    assert_eq!(gold.outcome.kind, OutcomeKind::Transferred);
    assert_eq!(gold.outcome.detail.as_deref(), Some("agent 5"));

    // A failed lookup never hangs the call: it takes `failure`.
    let down = run(
        definition,
        Script {
            http: [Err("timed out".to_owned())].into(),
            exec: [(0, Some("BUSY"))].into(),
            ..Script::default()
        },
    );
    assert_eq!(
        path(&down),
        [
            step("set", Some("next")),
            step("lookup", Some("failure")),
            step("fallback", Some("busy")),
        ]
    );
    assert_eq!(down.steps[1].detail.as_deref(), Some("timed out"));
    assert!(
        matches!(&down.actions[2], Action::Exec { args, .. } if args == "PJSIP/+33100000001@gw,30")
    );
    assert_eq!(down.outcome.kind, OutcomeKind::Completed);
}

#[test]
fn goto_flow_continues_in_the_other_flow() {
    let main = json!({"start": "go", "nodes": [
        {"id": "go", "type": "goto_flow", "flow_id": 11}
    ]});
    let mut other = loaded(json!({"start": "h", "nodes": [{"id": "h", "type": "hangup"}]}));
    other.flow_id = 11;
    other.version = 4;
    let ok = run(
        main.clone(),
        Script {
            flows: HashMap::from([(11, other)]),
            ..Script::default()
        },
    );
    assert_eq!(
        ok.actions,
        [Action::LoadFlow { flow_id: 11 }, Action::Hangup]
    );
    assert_eq!(ok.steps[0].detail.as_deref(), Some("flow 11 version 4"));
    assert_eq!(ok.steps[1].flow_id, Some(11));
    assert_eq!(ok.outcome.kind, OutcomeKind::Hangup);

    let missing = run(main, Script::default());
    assert_eq!(missing.outcome.kind, OutcomeKind::Failed);
    assert_eq!(
        missing.outcome.detail.as_deref(),
        Some("flow 11 has no published version")
    );
}

#[test]
fn a_queue_that_keeps_timing_out_hits_the_loop_limit() {
    let definition = json!({"start": "q", "nodes": [
        {"id": "q", "type": "queue", "group_id": 1,
         "exits": {"answered": null, "timeout": "q", "full": null, "unavailable": null, "failed": null}}
    ]});
    let run = run(
        definition,
        Script {
            exec: std::iter::repeat_n((0, Some("TIMEOUT")), 2000).collect(),
            ..Script::default()
        },
    );
    assert_eq!(run.outcome.kind, OutcomeKind::Failed);
    assert_eq!(run.actions.len(), MAX_NODE_VISITS as usize);
}

#[test]
fn an_unknown_agent_takes_the_failed_exit() {
    let definition = json!({"start": "t", "nodes": [
        {"id": "t", "type": "transfer", "target": {"agent": 99},
         "exits": {"answered": null, "busy": null, "no_answer": null, "failed": "h"}},
        {"id": "h", "type": "hangup"}
    ]});
    let run = run(definition, Script::default());
    assert_eq!(run.actions, [Action::Hangup]);
    assert_eq!(
        run.steps[0].detail.as_deref(),
        Some("agent 99 has no extension")
    );
}

// --- property: validated flows end for any finite caller input --------------------------

const TYPES: [&str; 11] = [
    "answer",
    "playback",
    "menu",
    "collect",
    "calendar",
    "set_variable",
    "condition",
    "http_lookup",
    "queue",
    "transfer",
    "hangup",
];

fn node_json(index: usize, kind: &str, targets: &[Option<usize>]) -> Value {
    let id = format!("n{index}");
    let mut target = targets.iter().cycle();
    let mut exit = || -> Value {
        match target.next().copied().flatten() {
            Some(t) => json!(format!("n{t}")),
            None => Value::Null,
        }
    };
    match kind {
        "answer" => json!({"id": id, "type": "answer", "exits": {"next": exit()}}),
        "playback" => {
            json!({"id": id, "type": "playback", "prompts": ["p"], "interruptible": index.is_multiple_of(2),
                              "exits": {"next": exit()}})
        }
        "menu" => {
            json!({"id": id, "type": "menu", "prompt": "p", "max_retries": 1, "invalid_prompt": "p",
                          "exits": {"1": exit(), "2": exit(), "invalid": exit(), "timeout": exit()}})
        }
        "collect" => {
            json!({"id": id, "type": "collect", "prompt": "p", "variable": "V", "max_digits": 3,
                             "max_retries": 1, "exits": {"next": exit(), "invalid": exit(), "timeout": exit()}})
        }
        "calendar" => json!({"id": id, "type": "calendar",
                              "weekly": [{"days": ["wed"], "from": "09:00", "to": "12:00"}],
                              "exits": {"open": exit(), "closed": exit()}}),
        "set_variable" => {
            json!({"id": id, "type": "set_variable", "variable": "V", "value": "x${V}",
                                  "exits": {"next": exit()}})
        }
        "condition" => json!({"id": id, "type": "condition", "subject": "${V}",
                               "cases": [{"exit": "one", "op": "prefix", "values": ["1"]}],
                               "exits": {"one": exit(), "default": exit()}}),
        "http_lookup" => json!({"id": id, "type": "http_lookup", "url": "http://x/${V}",
                                 "set": {"V": "/v"}, "exits": {"ok": exit(), "failure": exit()}}),
        "queue" => json!({"id": id, "type": "queue", "group_id": 1,
                           "exits": {"answered": exit(), "timeout": exit(), "full": exit(),
                                     "unavailable": exit(), "failed": exit()}}),
        "transfer" => json!({"id": id, "type": "transfer", "target": {"extension": "100"},
                              "exits": {"answered": exit(), "busy": exit(), "no_answer": exit(), "failed": exit()}}),
        _ => json!({"id": id, "type": "hangup"}),
    }
}

fn arb_flow() -> impl Strategy<Value = Value> {
    (2usize..10)
        .prop_flat_map(|n| {
            (
                proptest::collection::vec(0..TYPES.len(), n),
                proptest::collection::vec(
                    proptest::collection::vec(proptest::option::weighted(0.85, 0..n), 5),
                    n,
                ),
            )
        })
        .prop_map(|(types, targets)| {
            let nodes: Vec<Value> = types
                .iter()
                .enumerate()
                .map(|(i, &t)| {
                    // Keep the graph connected most of the time: the first exit goes on.
                    let mut exits = targets[i].clone();
                    if i + 1 < types.len() {
                        exits[0] = Some(i + 1);
                    }
                    node_json(i, TYPES[t], &exits)
                })
                .collect();
            json!({"start": "n0", "nodes": nodes})
        })
}

fn arb_keys() -> impl Strategy<Value = Vec<Key>> {
    proptest::collection::vec(
        prop_oneof![
            Just(Key::Silence),
            Just(Key::Press("1")),
            Just(Key::Press("2")),
            Just(Key::Press("9")),
            Just(Key::Press("12")),
            Just(Key::Press("#")),
        ],
        0..12,
    )
}

fn permissive_catalog() -> Catalog {
    Catalog {
        prompts: ["p".to_owned()].into(),
        groups: [1].into(),
        time_zone: Some("Europe/Paris".to_owned()),
        ..Catalog::default()
    }
}

fn has_waiting_node(flow: &Flow) -> bool {
    flow.nodes.iter().any(|n| n.kind.waits())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn validated_flows_end_for_any_finite_input(
        definition in arb_flow(),
        keys in arb_keys(),
        queue_status in prop_oneof![Just(None), Just(Some("TIMEOUT")), Just(Some("FULL"))],
        dial_status in prop_oneof![Just("ANSWER"), Just("BUSY"), Just("NOANSWER")],
        http_ok in any::<bool>(),
        minutes in 0i64..(7 * 24 * 60),
    ) {
        let Ok(flow) = check(&definition, &permissive_catalog()) else {
            return Ok(());
        };
        let waits = has_waiting_node(&flow);
        let script = Script {
            keys: keys.iter().cloned().collect(),
            exec: std::iter::repeat_n((0, queue_status.or(Some(dial_status))), 5000).collect(),
            http: std::iter::repeat_n(
                if http_ok { Ok(json!({"v": "1"})) } else { Err("down".to_owned()) },
                5000,
            )
            .collect(),
            ..Script::default()
        };
        let run = run_at(loaded(definition), script, t0() + ChronoDuration::minutes(minutes));
        // Without a waiting node the graph alone bounds the walk: every loop eats a key, and
        // each stretch between keys is acyclic.
        let bound = (keys.len() + 1) * flow.nodes.len() * 8;
        if !waits {
            prop_assert!(run.actions.len() <= bound, "{} actions > {bound}", run.actions.len());
            prop_assert!(run.outcome.kind != OutcomeKind::Failed, "{:?}", run.outcome);
        }
        prop_assert!(run.steps.len() <= MAX_NODE_VISITS as usize);
    }
}

#[test]
fn the_generator_yields_valid_flows() {
    // Guards the property above against a generator whose flows never validate.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = arb_flow();
    let valid = (0..300)
        .filter(|_| {
            let definition = strategy.new_tree(&mut runner).unwrap().current();
            check(&definition, &permissive_catalog()).is_ok()
        })
        .count();
    assert!(valid >= 30, "only {valid} of 300 generated flows are valid");
}
