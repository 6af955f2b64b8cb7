//! The trust contract: which OIDC claims each generated job presents ([`claims`]), and the
//! proof that every role admits exactly the jobs that assume it.

pub mod claims;
pub mod evaluator;
