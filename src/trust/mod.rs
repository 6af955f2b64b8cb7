//! The trust contract: which OIDC claims each generated job presents ([`claims`]), an IAM
//! evaluator for trust policies ([`evaluator`]), the proof run on every synth ([`prove`]), and
//! the trust map as people read it ([`report`]).

pub mod claims;
pub mod evaluator;
mod hostile;
pub mod prove;
pub mod report;
