//! Typed CloudFormation: templates, intrinsic functions, IAM policy documents and the resource
//! types of the pipeline-resources stack, plus validation and offline evaluation.
//!
//! Everything serializes with serde into `serde_yaml::Value`, with intrinsic functions as YAML
//! tags (`!Ref`, `!Sub`, `!GetAtt`), so the emitter prints the short forms reviewers expect;
//! [`Template::to_json`] gives CloudFormation's long forms (`{"Fn::Sub": ..}`) instead.
//!
//! - [`Value`] and [`Intrinsic`]: literals and functions; build with `Value::ref_to`,
//!   `Value::sub`, `Value::get_att`, `Value::if_`, ...
//! - [`PolicyDocument`], [`Statement`], [`Principal`], [`ConditionOperator`]: IAM policies.
//! - [`resources`]: [`Resource`] and typed properties (`iam`, `s3`, `ecr`).
//! - [`Template`]: the document; [`Template::validate`] lists every problem at once.
//! - [`Resolver`]: evaluates a template for one deployment (parameters, account, region).
//!
//! ```
//! use sampipe::cfn::resources::s3::{Bucket, BucketEncryption};
//! use sampipe::cfn::{Parameter, PseudoValues, Resolver, Resource, Template, Value};
//!
//! let template = Template::new()
//!     .parameter("Stage", Parameter::string().allowed_values(["dev", "prod"]))
//!     .resource(
//!         "Artifacts",
//!         Resource::new(
//!             Bucket::new()
//!                 .bucket_name(Value::sub("sam-app-${Stage}-${AWS::AccountId}"))
//!                 .encryption(BucketEncryption::Aes256),
//!         )
//!         .retain(),
//!     );
//! assert!(template.validate().is_empty());
//!
//! let yaml = template.to_yaml_value()?; // `BucketName: !Sub 'sam-app-${Stage}-...'`
//! assert_eq!(yaml["Resources"]["Artifacts"]["Type"], "AWS::S3::Bucket");
//!
//! let parameters = [("Stage".to_owned(), "dev".to_owned())].into_iter().collect();
//! let resolver = Resolver::new(&template, parameters, PseudoValues::new("111111111111", "us-east-2", "pipeline"))?;
//! assert_eq!(
//!     resolver.resolve(&Value::get_att("Artifacts", "Arn"))?,
//!     "arn:aws:s3:::sam-app-dev-111111111111"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! References:
//! - [Template anatomy](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html)
//! - [Intrinsic functions](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html)
//! - [Pseudo parameters](https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html)
//! - [Resource and property types](https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-template-resource-type-ref.html)
//! - [IAM policy elements](https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html)

mod convert;
mod intrinsic;
mod policy;
pub mod region;
mod resolve;
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
pub use resolve::{
    partition_of, PseudoValues, ResolveError, ResolvedPrincipal, ResolvedStatement, Resolver,
};
pub use resources::{DeletionPolicy, Resource, ResourceProperties, Tag};
pub use template::{
    Assertion, Mapping, Output, Parameter, Rule, Section, Template, FORMAT_VERSION,
};
pub use validate::ModelError;
pub use value::Value;
