//! Typed CloudFormation: templates, intrinsic functions and values.
//!
//! Everything here serializes with serde into `serde_yaml::Value`, with intrinsic functions as
//! YAML tags (`!Ref`, `!Sub`, `!GetAtt`), so the emitter prints the short forms reviewers expect.
//!
//! References:
//! - [Template anatomy](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html)
//! - [Intrinsic functions](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html)
//! - [Pseudo parameters](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html)

mod convert;
mod intrinsic;
mod policy;
pub mod resources;
mod sub;
mod template;
mod validate;
mod value;

pub use convert::RenderError;
pub use intrinsic::{Intrinsic, Pseudo};
pub use policy::{
    ConditionOperator, Effect, PolicyDocument, PolicyVersion, Principal, Statement, StatementEntry,
};
pub use resources::{DeletionPolicy, Resource, ResourceProperties, Tag};
pub use template::{Mapping, Output, Parameter, Section, Template, FORMAT_VERSION};
pub use validate::ModelError;
pub use value::Value;
