//! Typed GitHub Actions workflows: [`Workflow`], [`Triggers`], [`Job`], [`Step`],
//! [`Permissions`], with consuming builders and GitHub's own names, rendered to a
//! [`serde_yaml::Value`] whose keys are in the order a reviewer expects.
//!
//! Reference: [workflow syntax](https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax),
//! [expressions](https://docs.github.com/en/actions/reference/workflows-and-actions/expressions),
//! and the [JSON Schema](https://json.schemastore.org/github-workflow.json).
//!
//! # Expressions are kept out of scripts by type
//!
//! GitHub substitutes `${{ }}` into a `run:` script before the shell parses it, so an
//! expression whose value an attacker controls (a branch name, a pull request title) can inject
//! commands. Here only an [`Expr`] renders as `${{ }}`; a [`Script`] and a [`Literal`] refuse
//! text containing `${{`. A value reaches a script through `env:` and is read as `"$NAME"`:
//!
//! ```
//! use sampipe::gha::{Expr, Job, Script, Step};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Refused: the branch name would become shell source.
//! assert!(Script::new("sam delete --stack-name app-${{ github.ref_name }}").is_err());
//!
//! // The branch name arrives as data.
//! let delete = Step::run(Script::new(r#"sam delete --stack-name "app-$BRANCH" --no-prompts"#)?)
//!     .env("BRANCH", Expr::new("github.event.ref")?);
//! let job = Job::new()
//!     .runs_on("ubuntu-24.04")
//!     .if_(Expr::new("github.event.ref_type == 'branch'")?)
//!     .step(delete);
//! # let _ = job;
//! # Ok(())
//! # }
//! ```
//!
//! which renders as
//!
//! ```yaml
//! if: github.event.ref_type == 'branch'
//! runs-on: ubuntu-24.04
//! steps:
//!   - env:
//!       BRANCH: ${{ github.event.ref }}
//!     run: sam delete --stack-name "app-$BRANCH" --no-prompts
//! ```
//!
//! `if:` takes the bare expression; `env:`, `with:`, concurrency groups and environment names
//! take a [`Text`] (a [`Literal`] or an [`Expr`]) or an [`Input`].
//!
//! # Rendering
//!
//! [`Workflow::to_yaml_value`] gives the YAML value; after the emitter has turned it into text,
//! [`annotate`] adds a header comment and the version beside each pinned action, using
//! [`Workflow::uses_versions`]. [`Workflow::validate`] lists every problem at once.

mod actions;
mod annotate;
mod concurrency;
mod defaults;
mod expr;
mod job;
mod permissions;
mod render;
mod step;
#[cfg(test)]
mod testing;
mod trigger;
mod validate;
mod workflow;

pub use actions::{
    cache, checkout, configure_aws_credentials, download_artifact, setup_sam, setup_toolchain,
    upload_artifact, ActionRef, AwsCredentials, PinError, Pins,
};
pub use annotate::annotate;
pub use concurrency::Concurrency;
pub use defaults::Defaults;
pub use expr::{
    Expr, ExprInLiteralError, ExprInScriptError, InvalidExprError, Literal, Script, Text,
};
pub use job::{Environment, Job};
pub use permissions::{Permission, Permissions, Scope};
pub use step::{Input, Run, Step, StepKind, Uses};
pub use trigger::{PullRequestTrigger, PushTrigger, Triggers};
pub use validate::WorkflowError;
pub use workflow::Workflow;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gha::testing::{assert_yaml, expr, lit, script, text};

    /// The example of the module docs renders as the docs say.
    #[test]
    fn module_doc_example_renders_as_documented() {
        let delete = Step::run(script(
            r#"sam delete --stack-name "app-$BRANCH" --no-prompts"#,
        ))
        .env("BRANCH", expr("github.event.ref"));
        let job = Job::new()
            .runs_on("ubuntu-24.04")
            .if_(expr("github.event.ref_type == 'branch'"))
            .step(delete);
        let workflow = Workflow::new().job("delete", job);
        assert_yaml(
            &workflow.to_yaml_value()["jobs"]["delete"],
            r#"
if: github.event.ref_type == 'branch'
runs-on: ubuntu-24.04
steps:
  - env:
      BRANCH: ${{ github.event.ref }}
    run: sam delete --stack-name "app-$BRANCH" --no-prompts
"#,
        );
    }

    fn deploy_job(pins: &Pins, stage: &str, account: &str, needs: &str) -> Job {
        let role = format!("arn:aws:iam::{account}:role/sam-app-{stage}-pipeline-execution-role");
        Job::new()
            .needs(needs)
            .runs_on("ubuntu-24.04")
            .environment(Environment::new(text(stage)))
            .permission(Scope::Contents, Permission::Read)
            .permission(Scope::IdToken, Permission::Write)
            .concurrency(Concurrency::new(text(&format!("deploy-{stage}"))))
            .step(checkout(pins))
            .step(setup_sam(pins, None, true))
            .step(download_artifact(
                pins,
                lit("sam-build"),
                lit(".aws-sam/build"),
            ))
            .step(configure_aws_credentials(
                pins,
                AwsCredentials {
                    role_to_assume: text(&role),
                    aws_region: text("us-east-2"),
                    role_session_name: text(&format!("deploy-{stage}")),
                    allowed_account_ids: vec![lit(account)],
                    role_duration_seconds: None,
                    role_skip_session_tagging: None,
                    audience: None,
                },
            ))
            .step(
                Step::run(script(
                    "sam deploy --stack-name \"$STACK_NAME\" --no-fail-on-empty-changeset",
                ))
                .name("Deploy")
                .env("STACK_NAME", text(&format!("sam-app-{stage}"))),
            )
    }

    /// A pipeline shaped like the one sampipe generates: the whole model, validated, rendered
    /// and annotated.
    #[test]
    fn pipeline_workflow_validates_renders_and_annotates() {
        let pins = Pins::default();
        let workflow = Workflow::new()
            .name("Pipeline")
            .on(Triggers::new()
                .push(PushTrigger::new().branch("main"))
                .delete())
            .permissions(Permissions::new().set(Scope::Contents, Permission::Read))
            .job(
                "build",
                Job::new()
                    .if_(expr("github.event_name == 'push'"))
                    .runs_on("ubuntu-24.04")
                    .step(checkout(&pins))
                    .step(setup_sam(&pins, None, true))
                    .step(Step::run(script("sam build --use-container")).name("Build"))
                    .step(upload_artifact(
                        &pins,
                        lit("sam-build"),
                        lit(".aws-sam/build"),
                        Some(1),
                    )),
            )
            .job(
                "deploy-dev",
                deploy_job(&pins, "dev", "111111111111", "build"),
            );
        assert_eq!(workflow.validate(), []);
        assert_yaml(
            &workflow.to_yaml_value(),
            r#"
name: Pipeline
on:
  push:
    branches: [main]
  delete: {}
permissions:
  contents: read
jobs:
  build:
    if: github.event_name == 'push'
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1
        with:
          persist-credentials: false
      - uses: aws-actions/setup-sam@89ddb14d60e682855e3fea4be85b3c56485de310
        with:
          use-installer: true
      - name: Build
        run: sam build --use-container
      - uses: actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f
        with:
          name: sam-build
          path: .aws-sam/build
          if-no-files-found: error
          retention-days: 1
  deploy-dev:
    needs: [build]
    runs-on: ubuntu-24.04
    environment: dev
    permissions:
      contents: read
      id-token: write
    concurrency:
      group: deploy-dev
      cancel-in-progress: false
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1
        with:
          persist-credentials: false
      - uses: aws-actions/setup-sam@89ddb14d60e682855e3fea4be85b3c56485de310
        with:
          use-installer: true
      - uses: actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c
        with:
          name: sam-build
          path: .aws-sam/build
      - uses: aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c
        with:
          role-to-assume: arn:aws:iam::111111111111:role/sam-app-dev-pipeline-execution-role
          aws-region: us-east-2
          role-session-name: deploy-dev
          allowed-account-ids: '111111111111'
      - name: Deploy
        env:
          STACK_NAME: sam-app-dev
        run: sam deploy --stack-name "$STACK_NAME" --no-fail-on-empty-changeset
"#,
        );

        let rendered = serde_yaml::to_string(&workflow).expect("renders");
        let annotated = annotate(
            &rendered,
            &["Generated by sampipe."],
            &workflow.uses_versions(),
        );
        assert!(annotated.starts_with("# Generated by sampipe.\nname: Pipeline\n"));
        let versions: Vec<&str> = annotated
            .lines()
            .filter_map(|line| line.split_once(" # ").map(|(_, version)| version))
            .collect();
        assert_eq!(
            versions,
            ["v7.0.1", "v3", "v7.0.0", "v7.0.1", "v3", "v8.0.1", "v6.2.3"]
        );
    }
}
