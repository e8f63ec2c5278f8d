//! HTTP handlers, one module per resource. Each handler extracts, authorizes, validates, calls
//! the models inside one transaction (with its audit entry), and maps to a response type.

pub mod agent_session;
pub mod audit;
pub mod auth;
pub mod call_centers;
pub mod calls;
pub mod campaign_stats;
pub mod campaigns;
pub mod dids;
pub mod dnc;
pub mod email_templates;
pub mod emails;
pub mod forms;
pub mod groups;
pub mod health;
pub mod ivr_flow_versions;
pub mod ivr_flows;
pub mod ivr_sessions;
pub mod lead_desk;
pub mod lead_notes;
pub mod leads;
pub mod live;
pub mod me;
pub mod notifications;
pub mod preview;
pub mod prompts;
pub mod public_forms;
pub mod qualifications;
pub mod qualify;
pub mod saved_searches;
pub mod sites;
pub mod smtp_profiles;
pub mod trunks;
pub mod users;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::models::PageRequest;

/// Largest page size.
pub const MAX_PER_PAGE: u32 = 200;
/// Page size when none is asked for.
pub const DEFAULT_PER_PAGE: u32 = 50;

/// `?page=&per_page=`
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 1.
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u32>,
}

impl PageParams {
    /// Limit/offset, or 422 naming the bad parameter.
    pub fn resolve(self) -> Result<(PageRequest, u32, u32), ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(DEFAULT_PER_PAGE);
        if page == 0 {
            return Err(ApiError::field(
                "page",
                "out_of_range",
                "must be at least 1",
            ));
        }
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(ApiError::field(
                "per_page",
                "out_of_range",
                format!("must be between 1 and {MAX_PER_PAGE}"),
            ));
        }
        let request = PageRequest {
            limit: i64::from(per_page),
            offset: (i64::from(page) - 1) * i64::from(per_page),
        };
        Ok((request, page, per_page))
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// This page's number.
    pub page: u32,
    /// Page size.
    pub per_page: u32,
    /// Items matching the filters, over all pages.
    pub total: i64,
}

impl<T> Page<T> {
    /// Assembles a page, converting rows into views.
    pub fn new<R>(
        rows: Vec<R>,
        total: i64,
        page: u32,
        per_page: u32,
        view: impl Fn(R) -> T,
    ) -> Self {
        Self {
            items: rows.into_iter().map(view).collect(),
            page,
            per_page,
            total,
        }
    }
}

/// Stored UTC time as an RFC 3339 timestamp.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}
