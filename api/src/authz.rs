//! Authorization in one place. [`allowed`] is the role × resource × action table; the
//! [`Principal`] methods below add tenancy (another tenant's object is a 404, never a 403) and
//! the per-role visibility of users. Handlers call these and nothing else.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::models::user::{Role, User, UserFilter};

/// What is being acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// Tenants.
    CallCenter,
    /// Sites.
    Site,
    /// Users.
    User,
    /// Groups and their members.
    Group,
    /// The audit log.
    Audit,
    /// SIP trunks.
    Trunk,
    /// Live view of calls, agents, queues, trunks.
    Live,
    /// One's own agent session (login, ready, pause, logout).
    AgentSession,
    /// Calls: click-to-call, hang-up, transfer.
    Call,
    /// Supervising others: spying on calls, forcing pauses and logouts.
    Supervision,
    /// Outbound campaigns, their lifecycle, leads imports and statistics.
    Campaign,
    /// Qualifications (dispositions) and their groups.
    Qualification,
    /// Leads.
    Lead,
    /// Do-not-call numbers (internal list and national opposition lists).
    Dnc,
    /// Prompts (sound files IVR flows play).
    Prompt,
    /// IVR flows, their publication and published versions.
    IvrFlow,
    /// DIDs and the flow each is routed to.
    Did,
    /// The record of inbound calls through the IVR (written by the engine, read-only here).
    IvrSession,
    /// SMTP profiles.
    SmtpProfile,
    /// Email templates.
    EmailTemplate,
    /// The email outbox and its history.
    Email,
    /// Public lead forms.
    Form,
    /// One's own in-app notifications (the handlers narrow every query to the caller).
    Notification,
}

/// What is being done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Listing a collection.
    List,
    /// Reading one object.
    Read,
    /// Creating.
    Create,
    /// Changing.
    Update,
    /// Deleting.
    Delete,
}

/// Whether `role` may perform `action` on `resource` at all (tenancy and visibility come after).
pub fn allowed(role: Role, resource: Resource, action: Action) -> bool {
    use Action::*;
    use Resource::*;
    match (role, resource, action) {
        (Role::SuperAdmin, _, _) => true,
        (Role::Owner, CallCenter, List | Read | Update) => true,
        (Role::Owner, Site | User | Group | Trunk, _) => true,
        (Role::Owner, Audit, List) => true,
        (Role::Supervisor, CallCenter | Site | User | Group | Trunk, List | Read) => true,
        (Role::Owner | Role::Supervisor, Live, List) => true,
        (Role::Owner | Role::Supervisor, Supervision, _) => true,
        // Everyone in a call center works the phones.
        (Role::Owner | Role::Supervisor | Role::Agent, AgentSession | Call, _) => true,
        // Owners run the dialer; supervisors operate campaigns (start, pause, import, boost)
        // and maintain the do-not-call list, but do not create or delete campaigns.
        (Role::Owner, Campaign | Qualification | Lead | Dnc, _) => true,
        (Role::Supervisor, Campaign | Lead, List | Read | Update) => true,
        (Role::Supervisor, Dnc, List | Read | Create) => true,
        (Role::Supervisor, Qualification, List | Read) => true,
        // Owners build and publish their center's IVR; supervisors read it and follow the
        // calls through it. Sessions are written by the engine only.
        (Role::Owner, Prompt | IvrFlow | Did, _) => true,
        (Role::Supervisor, Prompt | IvrFlow | Did, List | Read) => true,
        (Role::Owner | Role::Supervisor, IvrSession, List | Read) => true,
        // Owners configure their center's email; supervisors read it and its history.
        (Role::Owner, SmtpProfile | EmailTemplate | Email, _) => true,
        (Role::Supervisor, SmtpProfile | EmailTemplate | Email, List | Read) => true,
        // Owners build forms; supervisors read them. Agents work the leads assigned to them
        // (the handlers narrow them to those); supervisors and owners work every lead.
        (Role::Owner, Form, _) => true,
        (Role::Supervisor, Form, List | Read) => true,
        (Role::Agent, Lead, List | Read | Update) => true,
        // Agents see only themselves and the center and site they work in, and the
        // qualifications they choose from.
        (Role::Agent, CallCenter | Site | User, Read) => true,
        (Role::Agent, Qualification, List | Read) => true,
        // Everyone reads and marks their own notifications, and only theirs.
        (_, Notification, List | Read | Update) => true,
        _ => false,
    }
}

impl Principal {
    /// 403 unless the role may do this.
    pub fn require(&self, resource: Resource, action: Action) -> Result<(), ApiError> {
        if allowed(self.role(), resource, action) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// The tenant a list must be restricted to (`None`: everything, for super admins).
    pub fn tenant_scope(&self) -> Option<i64> {
        match self.role() {
            Role::SuperAdmin => None,
            // Non-super users always have a tenant (database CHECK); -1 matches nothing.
            _ => Some(self.call_center_id().unwrap_or(-1)),
        }
    }

    /// The tenant filter of a list given the `call_center_id` the caller asked for: a
    /// tenant-bound caller asking for another center gets an empty list, not an error.
    pub fn narrow_tenant(&self, asked: Option<i64>) -> Option<i64> {
        match (self.tenant_scope(), asked) {
            (Some(own), Some(asked)) if own != asked => Some(-1),
            (Some(own), _) => Some(own),
            (None, asked) => asked,
        }
    }

    /// Whether an object of `call_center_id` is inside the caller's tenant.
    pub fn sees_tenant(&self, call_center_id: i64) -> bool {
        self.tenant_scope().is_none_or(|own| own == call_center_id)
    }

    /// 404 (as `entity`) when the object belongs to another tenant.
    pub fn check_tenant(&self, call_center_id: i64, entity: &'static str) -> Result<(), ApiError> {
        if self.sees_tenant(call_center_id) {
            Ok(())
        } else {
            Err(ApiError::NotFound(entity))
        }
    }

    /// Narrows a user list to what the caller may see.
    pub fn scope_users(&self, filter: &mut UserFilter) {
        match self.role() {
            Role::SuperAdmin => {}
            Role::Owner => filter.call_center_id = self.tenant_scope(),
            Role::Supervisor => {
                filter.call_center_id = self.tenant_scope();
                // Supervisors see the agents and supervisors of their center, not its owners.
                filter.roles = Some(vec![Role::Agent, Role::Supervisor]);
            }
            Role::Agent => filter.ids = Some(vec![self.id()]),
        }
    }

    /// Whether the caller may see `user` (same rules as [`Principal::scope_users`]).
    pub fn sees_user(&self, user: &User) -> bool {
        if user.id == self.id() {
            return true;
        }
        match self.role() {
            Role::SuperAdmin => true,
            Role::Owner => user.call_center_id == self.call_center_id(),
            Role::Supervisor => {
                user.call_center_id == self.call_center_id()
                    && matches!(user.role(), Role::Agent | Role::Supervisor)
            }
            Role::Agent => false,
        }
    }

    /// Whether the caller may give `role` to a user.
    pub fn may_assign(&self, role: Role) -> bool {
        match self.role() {
            Role::SuperAdmin => true,
            Role::Owner => role != Role::SuperAdmin,
            Role::Supervisor | Role::Agent => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_reads_as_intended() {
        assert!(allowed(Role::Owner, Resource::User, Action::Create));
        assert!(!allowed(Role::Owner, Resource::CallCenter, Action::Create));
        assert!(!allowed(Role::Supervisor, Resource::User, Action::Create));
        assert!(allowed(Role::Supervisor, Resource::Group, Action::List));
        assert!(!allowed(Role::Agent, Resource::User, Action::List));
        assert!(allowed(Role::Agent, Resource::User, Action::Read));
        assert!(!allowed(Role::Agent, Resource::Audit, Action::List));
        assert!(!allowed(Role::Supervisor, Resource::Audit, Action::List));
        assert!(allowed(Role::Owner, Resource::IvrFlow, Action::Update));
        assert!(!allowed(
            Role::Supervisor,
            Resource::IvrFlow,
            Action::Update
        ));
        assert!(allowed(
            Role::Supervisor,
            Resource::IvrSession,
            Action::Read
        ));
        assert!(!allowed(Role::Owner, Resource::IvrSession, Action::Delete));
        assert!(!allowed(Role::Agent, Resource::Did, Action::List));
    }
}
