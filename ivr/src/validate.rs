//! Flow validation: the graph rules (a start, no dangling or unknown exits, no unreachable node,
//! no cycle a caller cannot leave by pressing a key or waiting) and the parameters (ranges,
//! times, zones, templates), plus references to things that must exist (prompts, agent groups,
//! agents, trunks, other flows) checked against a [`Catalog`].

use std::collections::{BTreeSet, HashSet};

use crate::calendar;
use crate::flow::{Flow, MENU_DIGITS, NodeKind, TransferTarget};
use crate::problem::Problem;
use crate::template;

/// What a flow may refer to, as known where it is saved (one call center's records).
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    /// Prompt names (sound files) registered for the center.
    pub prompts: HashSet<String>,
    /// Agent group ids (their queues).
    pub groups: HashSet<i64>,
    /// Agent (user) ids.
    pub agents: HashSet<i64>,
    /// Trunk names.
    pub trunks: HashSet<String>,
    /// Other flows of the center that have a published version.
    pub flows: HashSet<i64>,
    /// The id of the flow being validated, so it cannot `goto_flow` itself.
    pub this_flow: Option<i64>,
    /// The call center's time zone, used when a calendar names none.
    pub time_zone: Option<String>,
}

/// Variables a flow can read but not set.
pub const BUILTIN_VARIABLES: &[&str] = &[
    "CALLER_ID",
    "CALLER_NAME",
    "DID",
    "UNIQUEID",
    "CHANNEL",
    "LANGUAGE",
];

/// Parses and validates in one go: the flow, or every problem found.
pub fn check(definition: &serde_json::Value, catalog: &Catalog) -> Result<Flow, Vec<Problem>> {
    let flow = Flow::parse(definition)?;
    let problems = validate(&flow, catalog);
    if problems.is_empty() {
        Ok(flow)
    } else {
        Err(problems)
    }
}

/// Every problem of a parsed flow; empty when it may be saved and published.
pub fn validate(flow: &Flow, catalog: &Catalog) -> Vec<Problem> {
    let mut problems = Vec::new();
    if flow.position(&flow.start).is_none() {
        problems.push(Problem::flow(
            "start",
            "unknown_start",
            format!("the start node `{}` does not exist", flow.start),
        ));
    }
    for (index, node) in flow.nodes.iter().enumerate() {
        check_exits(flow, index, &mut problems);
        check_parameters(index, &node.id, &node.kind, catalog, &mut problems);
    }
    if problems.iter().all(|p| p.code != "unknown_start") {
        check_reachability(flow, &mut problems);
    }
    check_cycles(flow, &mut problems);
    problems
}

/// The exits a node must have, in the order an editor would list them.
pub fn required_exits(kind: &NodeKind, exits_present: &BTreeSet<&str>) -> Vec<String> {
    let mut required: Vec<String> = kind.fixed_exits().iter().map(|s| (*s).to_owned()).collect();
    match kind {
        NodeKind::Menu(_) => required.extend(
            exits_present
                .iter()
                .filter(|e| is_menu_digit(e))
                .map(|e| (*e).to_owned()),
        ),
        NodeKind::Condition(c) => {
            for case in &c.cases {
                if !required.contains(&case.exit) {
                    required.push(case.exit.clone());
                }
            }
        }
        _ => {}
    }
    required
}

fn is_menu_digit(exit: &str) -> bool {
    exit.len() == 1 && MENU_DIGITS.contains(exit)
}

fn check_exits(flow: &Flow, index: usize, problems: &mut Vec<Problem>) {
    let node = &flow.nodes[index];
    let present: BTreeSet<&str> = node.exits.keys().map(String::as_str).collect();
    let required = required_exits(&node.kind, &present);
    for exit in &required {
        if !node.exits.contains_key(exit) {
            problems.push(Problem::node(
                index,
                &node.id,
                &format!("exits.{exit}"),
                "missing_exit",
                format!(
                    "exit `{exit}` of node `{}` is missing (give a node id, or null to end the IVR there)",
                    node.id
                ),
            ));
        }
    }
    if let NodeKind::Menu(_) = node.kind
        && !present.iter().any(|e| is_menu_digit(e))
    {
        problems.push(Problem::node(
            index,
            &node.id,
            "exits",
            "no_options",
            format!("menu `{}` has no digit exit", node.id),
        ));
    }
    for (exit, target) in &node.exits {
        if !required.contains(exit) {
            let expected = if required.is_empty() {
                "none".to_owned()
            } else {
                required.join(", ")
            };
            problems.push(Problem::node(
                index,
                &node.id,
                &format!("exits.{exit}"),
                "unknown_exit",
                format!(
                    "a {} node has no exit `{exit}` (its exits: {expected})",
                    node.kind.type_name()
                ),
            ));
            continue;
        }
        if let Some(target) = target
            && flow.position(target).is_none()
        {
            problems.push(Problem::node(
                index,
                &node.id,
                &format!("exits.{exit}"),
                "dangling_exit",
                format!(
                    "exit `{exit}` of node `{}` points to `{target}`, which is not a node",
                    node.id
                ),
            ));
        }
    }
}

fn targets<'a>(flow: &'a Flow, index: usize) -> impl Iterator<Item = (&'a str, usize)> + 'a {
    flow.nodes[index]
        .exits
        .iter()
        .filter_map(|(exit, target)| Some((exit.as_str(), flow.position(target.as_deref()?)?)))
}

fn check_reachability(flow: &Flow, problems: &mut Vec<Problem>) {
    let Some(start) = flow.position(&flow.start) else {
        return;
    };
    let mut seen = vec![false; flow.nodes.len()];
    let mut stack = vec![start];
    seen[start] = true;
    while let Some(i) = stack.pop() {
        for (_, next) in targets(flow, i) {
            if !seen[next] {
                seen[next] = true;
                stack.push(next);
            }
        }
    }
    for (index, node) in flow.nodes.iter().enumerate() {
        if !seen[index] {
            problems.push(Problem::node(
                index,
                &node.id,
                "",
                "unreachable",
                format!("node `{}` cannot be reached from `{}`", node.id, flow.start),
            ));
        }
    }
}

/// Finds cycles made only of exits that need no caller input through nodes that do not wait:
/// such a loop would spin for ever. One problem per strongly connected component.
fn check_cycles(flow: &Flow, problems: &mut Vec<Problem>) {
    let n = flow.nodes.len();
    // The "free" graph: edges a walk can take on its own.
    let free: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            let kind = &flow.nodes[i].kind;
            if kind.waits() {
                return Vec::new();
            }
            targets(flow, i)
                .filter(|(exit, _)| !kind.exit_consumes_input(exit))
                .map(|(_, next)| next)
                .collect()
        })
        .collect();
    for component in strongly_connected(&free) {
        let cyclic = component.len() > 1 || free[component[0]].contains(&component[0]);
        if !cyclic {
            continue;
        }
        let first = component.iter().copied().min().unwrap_or(0);
        let mut ids: Vec<&str> = component
            .iter()
            .map(|&i| flow.nodes[i].id.as_str())
            .collect();
        ids.sort_unstable();
        problems.push(Problem::node(
            first,
            &flow.nodes[first].id,
            "exits",
            "input_free_cycle",
            format!(
                "nodes {} loop without waiting for the caller (add a menu or collect to the loop)",
                ids.iter()
                    .map(|id| format!("`{id}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
}

/// Tarjan's algorithm, iterative so a long chain cannot overflow the stack.
fn strongly_connected(graph: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = graph.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut counter = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&mut (v, ref mut edge)) = work.last_mut() {
            if *edge == 0 && index[v] == usize::MAX {
                index[v] = counter;
                low[v] = counter;
                counter += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = graph[v].get(*edge) {
                *edge += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

fn check_prompt(
    index: usize,
    id: &str,
    field: &str,
    prompt: &str,
    catalog: &Catalog,
    problems: &mut Vec<Problem>,
) {
    if !catalog.prompts.contains(prompt) {
        problems.push(Problem::node(
            index,
            id,
            field,
            "unknown_prompt",
            format!("prompt `{prompt}` is not registered (add it under /api/prompts)"),
        ));
    }
}

fn check_range(
    index: usize,
    id: &str,
    field: &str,
    value: u64,
    range: std::ops::RangeInclusive<u64>,
    problems: &mut Vec<Problem>,
) {
    if !range.contains(&value) {
        problems.push(Problem::node(
            index,
            id,
            field,
            "out_of_range",
            format!(
                "`{field}` must be between {} and {} (got {value})",
                range.start(),
                range.end()
            ),
        ));
    }
}

fn check_variable(index: usize, id: &str, field: &str, name: &str, problems: &mut Vec<Problem>) {
    if !template::is_variable_name(name) {
        problems.push(Problem::node(
            index,
            id,
            field,
            "invalid_variable",
            format!("`{name}` is not a variable name (capital letters, digits and `_`, starting with a letter)"),
        ));
    } else if BUILTIN_VARIABLES.contains(&name) {
        problems.push(Problem::node(
            index,
            id,
            field,
            "read_only_variable",
            format!("`{name}` is set by the call and cannot be changed"),
        ));
    }
}

fn check_template(index: usize, id: &str, field: &str, text: &str, problems: &mut Vec<Problem>) {
    if let Err(message) = template::check(text) {
        problems.push(Problem::node(index, id, field, "invalid_template", message));
    }
}

fn check_parameters(
    index: usize,
    id: &str,
    kind: &NodeKind,
    catalog: &Catalog,
    problems: &mut Vec<Problem>,
) {
    match kind {
        NodeKind::Answer | NodeKind::Hangup => {}
        NodeKind::Playback(p) => {
            if p.prompts.is_empty() {
                problems.push(Problem::node(
                    index,
                    id,
                    "prompts",
                    "empty_prompts",
                    "a playback node plays at least one prompt",
                ));
            }
            for (i, prompt) in p.prompts.iter().enumerate() {
                check_prompt(
                    index,
                    id,
                    &format!("prompts[{i}]"),
                    prompt,
                    catalog,
                    problems,
                );
            }
        }
        NodeKind::Menu(m) => {
            check_prompt(index, id, "prompt", &m.prompt, catalog, problems);
            for (field, prompt) in [
                ("invalid_prompt", &m.invalid_prompt),
                ("timeout_prompt", &m.timeout_prompt),
            ] {
                if let Some(prompt) = prompt {
                    check_prompt(index, id, field, prompt, catalog, problems);
                }
            }
            check_range(
                index,
                id,
                "timeout_ms",
                m.timeout_ms.into(),
                500..=60_000,
                problems,
            );
            check_range(
                index,
                id,
                "max_retries",
                m.max_retries.into(),
                0..=10,
                problems,
            );
        }
        NodeKind::Collect(c) => {
            check_prompt(index, id, "prompt", &c.prompt, catalog, problems);
            if let Some(prompt) = &c.invalid_prompt {
                check_prompt(index, id, "invalid_prompt", prompt, catalog, problems);
            }
            check_variable(index, id, "variable", &c.variable, problems);
            check_range(
                index,
                id,
                "max_digits",
                c.max_digits.into(),
                1..=32,
                problems,
            );
            check_range(
                index,
                id,
                "min_digits",
                c.min_digits.into(),
                0..=u64::from(c.max_digits),
                problems,
            );
            check_range(
                index,
                id,
                "timeout_ms",
                c.timeout_ms.into(),
                500..=60_000,
                problems,
            );
            check_range(
                index,
                id,
                "max_retries",
                c.max_retries.into(),
                0..=10,
                problems,
            );
        }
        NodeKind::Calendar(c) => {
            for (field, message) in calendar::problems(c, catalog.time_zone.as_deref()) {
                problems.push(Problem::node(
                    index,
                    id,
                    &field,
                    "invalid_calendar",
                    message,
                ));
            }
        }
        NodeKind::SetVariable(s) => {
            check_variable(index, id, "variable", &s.variable, problems);
            check_template(index, id, "value", &s.value, problems);
        }
        NodeKind::Condition(c) => {
            check_template(index, id, "subject", &c.subject, problems);
            if c.cases.is_empty() {
                problems.push(Problem::node(
                    index,
                    id,
                    "cases",
                    "no_cases",
                    "a condition needs at least one case",
                ));
            }
            for (i, case) in c.cases.iter().enumerate() {
                if case.exit == "default" || case.exit.is_empty() {
                    problems.push(Problem::node(
                        index,
                        id,
                        &format!("cases[{i}].exit"),
                        "invalid_exit_name",
                        "a case exit needs a name other than `default`",
                    ));
                }
            }
        }
        NodeKind::HttpLookup(h) => {
            let lower = h.url.to_ascii_lowercase();
            if !(lower.starts_with("http://") || lower.starts_with("https://")) {
                problems.push(Problem::node(
                    index,
                    id,
                    "url",
                    "invalid_url",
                    "the lookup URL starts with http:// or https://",
                ));
            }
            check_template(index, id, "url", &h.url, problems);
            for (name, value) in &h.headers {
                check_template(index, id, &format!("headers.{name}"), value, problems);
            }
            for (name, value) in &h.body {
                check_template(index, id, &format!("body.{name}"), value, problems);
            }
            if !h.body.is_empty() && h.method == crate::flow::HttpMethod::Get {
                problems.push(Problem::node(
                    index,
                    id,
                    "body",
                    "body_with_get",
                    "a GET lookup sends no body; use POST",
                ));
            }
            check_range(
                index,
                id,
                "timeout_ms",
                h.timeout_ms.into(),
                100..=10_000,
                problems,
            );
            for (variable, pointer) in &h.set {
                check_variable(index, id, &format!("set.{variable}"), variable, problems);
                if !pointer.is_empty() && !pointer.starts_with('/') {
                    problems.push(Problem::node(
                        index,
                        id,
                        &format!("set.{variable}"),
                        "invalid_pointer",
                        format!("`{pointer}` is not a JSON pointer (like /customer/tier)"),
                    ));
                }
            }
        }
        NodeKind::Queue(q) => {
            if !catalog.groups.contains(&q.group_id) {
                problems.push(Problem::node(
                    index,
                    id,
                    "group_id",
                    "unknown_queue",
                    format!("agent group {} does not exist", q.group_id),
                ));
            }
            check_range(
                index,
                id,
                "max_wait_secs",
                q.max_wait_secs.into(),
                1..=86_400,
                problems,
            );
        }
        NodeKind::Transfer(t) => {
            check_range(
                index,
                id,
                "ring_secs",
                t.ring_secs.into(),
                5..=600,
                problems,
            );
            match &t.target {
                TransferTarget::Agent(agent) if !catalog.agents.contains(agent) => {
                    problems.push(Problem::node(
                        index,
                        id,
                        "target.agent",
                        "unknown_agent",
                        format!("agent {agent} does not exist"),
                    ));
                }
                TransferTarget::Agent(_) => {}
                TransferTarget::Extension(ext) => {
                    if !is_dial_string(ext) {
                        problems.push(Problem::node(
                            index,
                            id,
                            "target.extension",
                            "invalid_extension",
                            "an extension is digits",
                        ));
                    }
                }
                TransferTarget::Number { number, trunk } => {
                    let digits = number.strip_prefix('+').unwrap_or(number);
                    if !is_dial_string(digits) || digits.len() < 3 {
                        problems.push(Problem::node(
                            index,
                            id,
                            "target.number.number",
                            "invalid_number",
                            format!("`{number}` is not a phone number"),
                        ));
                    }
                    if !catalog.trunks.contains(trunk) {
                        problems.push(Problem::node(
                            index,
                            id,
                            "target.number.trunk",
                            "unknown_trunk",
                            format!("trunk `{trunk}` does not exist"),
                        ));
                    }
                }
            }
        }
        NodeKind::Voicemail(v) => {
            let valid = v.mailbox.split_once('@').is_some_and(|(mailbox, context)| {
                is_dial_string(mailbox)
                    && !context.is_empty()
                    && context
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
            });
            if !valid {
                problems.push(Problem::node(
                    index,
                    id,
                    "mailbox",
                    "invalid_mailbox",
                    "a mailbox is written `box@context`, e.g. `100@callpro`",
                ));
            }
        }
        NodeKind::GotoFlow(g) => {
            if catalog.this_flow == Some(g.flow_id) {
                problems.push(Problem::node(
                    index,
                    id,
                    "flow_id",
                    "self_goto",
                    "a flow cannot continue in itself; link the node instead",
                ));
            } else if !catalog.flows.contains(&g.flow_id) {
                problems.push(Problem::node(
                    index,
                    id,
                    "flow_id",
                    "unknown_flow",
                    format!(
                        "flow {} does not exist or has no published version",
                        g.flow_id
                    ),
                ));
            }
        }
    }
}

fn is_dial_string(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog() -> Catalog {
        Catalog {
            prompts: ["welcome", "menu", "closed"].map(str::to_owned).into(),
            groups: [1].into(),
            agents: [5].into(),
            trunks: ["gw-paris".to_owned()].into(),
            flows: [9].into(),
            this_flow: Some(2),
            time_zone: Some("Europe/Paris".to_owned()),
        }
    }

    fn codes(definition: serde_json::Value) -> Vec<(String, &'static str)> {
        match check(&definition, &catalog()) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.into_iter().map(|p| (p.field, p.code)).collect(),
        }
    }

    #[test]
    fn a_sound_flow_passes() {
        let problems = codes(json!({"start": "a", "nodes": [
            {"id": "a", "type": "answer", "exits": {"next": "m"}},
            {"id": "m", "type": "menu", "prompt": "menu",
             "exits": {"1": "q", "2": "g", "invalid": "m", "timeout": null}},
            {"id": "q", "type": "queue", "group_id": 1,
             "exits": {"answered": null, "timeout": "m", "full": "m", "unavailable": "m", "failed": null}},
            {"id": "g", "type": "goto_flow", "flow_id": 9}
        ]}));
        // Loops back to the menu go through a pressed digit or the waiting queue.
        assert_eq!(problems, vec![]);
    }

    #[test]
    fn reports_dangling_unreachable_and_input_free_cycles() {
        let problems = codes(json!({"start": "a", "nodes": [
            {"id": "a", "type": "answer", "exits": {"next": "p"}},
            {"id": "p", "type": "playback", "prompts": ["welcome"], "exits": {"next": "s"}},
            {"id": "s", "type": "set_variable", "variable": "X", "value": "1", "exits": {"next": "p"}},
            {"id": "lost", "type": "hangup"},
            {"id": "m", "type": "menu", "prompt": "nope", "exits": {"1": "ghost", "invalid": null}}
        ]}));
        for expected in [
            ("nodes[1].exits", "input_free_cycle"),
            ("nodes[3]", "unreachable"),
            ("nodes[4]", "unreachable"),
            ("nodes[4].exits.1", "dangling_exit"),
            ("nodes[4].exits.timeout", "missing_exit"),
            ("nodes[4].prompt", "unknown_prompt"),
        ] {
            assert!(
                problems.contains(&(expected.0.to_owned(), expected.1)),
                "{expected:?} not in {problems:?}"
            );
        }
    }

    #[test]
    fn checks_references_and_parameters() {
        let problems = codes(json!({"start": "a", "nodes": [
            {"id": "a", "type": "queue", "group_id": 4, "max_wait_secs": 0,
             "exits": {"answered": null, "timeout": "b", "full": null, "unavailable": null, "failed": null, "maybe": null}},
            {"id": "b", "type": "transfer", "target": {"number": {"number": "12ab", "trunk": "gw-lyon"}},
             "exits": {"answered": null, "busy": "c", "no_answer": "c", "failed": "c"}},
            {"id": "c", "type": "collect", "prompt": "menu", "variable": "CALLER_ID", "min_digits": 5, "max_digits": 4,
             "exits": {"next": "d", "invalid": null, "timeout": null}},
            {"id": "d", "type": "goto_flow", "flow_id": 2}
        ]}));
        for expected in [
            ("nodes[0].group_id", "unknown_queue"),
            ("nodes[0].max_wait_secs", "out_of_range"),
            ("nodes[0].exits.maybe", "unknown_exit"),
            ("nodes[1].target.number.number", "invalid_number"),
            ("nodes[1].target.number.trunk", "unknown_trunk"),
            ("nodes[2].variable", "read_only_variable"),
            ("nodes[2].min_digits", "out_of_range"),
            ("nodes[3].flow_id", "self_goto"),
        ] {
            assert!(
                problems.contains(&(expected.0.to_owned(), expected.1)),
                "{expected:?} not in {problems:?}"
            );
        }
    }

    #[test]
    fn unknown_start_is_reported() {
        let problems = codes(json!({"start": "x", "nodes": [{"id": "a", "type": "hangup"}]}));
        assert_eq!(problems, vec![("start".to_owned(), "unknown_start")]);
    }
}
