//! IAM permissions a CloudFormation deployment needs, per resource type: the table generated
//! offline from cfn-lint's resource provider schemas ([`table`]) and the hand-written entries for
//! types those schemas give no handlers ([`fallback`]). They back the execution-role policy
//! derived from an app's resource types, in place of `Action: "*"`.

pub mod evaluator;
pub mod fallback;
pub mod table;
