//! What is wrong with a flow: one [`Problem`] per defect, each naming the node and the JSON path
//! of the offending field so an editor can point at it.

use serde::Serialize;

/// One defect in a flow definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// JSON path inside the flow definition (`nodes[2].exits.timeout`, `start`).
    pub field: String,
    /// The node concerned, when there is one.
    pub node: Option<String>,
    /// Stable snake_case reason (`dangling_exit`, `unreachable`, `input_free_cycle`, ...).
    pub code: &'static str,
    /// A sentence a flow author understands.
    pub message: String,
}

impl Problem {
    /// A problem about the flow as a whole.
    pub fn flow(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            node: None,
            code,
            message: message.into(),
        }
    }

    /// A problem about node number `index` (whose id is `node`), at `field` inside it.
    pub fn node(
        index: usize,
        node: &str,
        field: &str,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        let field = if field.is_empty() {
            format!("nodes[{index}]")
        } else {
            format!("nodes[{index}].{field}")
        };
        Self {
            field,
            node: Some(node.to_owned()),
            code,
            message: message.into(),
        }
    }
}
