//! Shell the CI files share, written once so that every CI system builds and names the same
//! things: where `sam build` puts its output, the feature stack's name, and `sam deploy`.

use crate::pipeline::names::{feature_stack_prefix, STACK_NAME_MAX};
use crate::pipeline::{Pipeline, StagePlan};

/// `sam build --build-dir`: a non-hidden directory, since GitHub's upload-artifact skips
/// dot-directories such as `.aws-sam` (v4.4+), and the artifact every deploy job reads.
pub const BUILD_DIR: &str = "sam-build";

/// The image GitLab and Bitbucket jobs run in unless `workflow.image` says otherwise: the AWS
/// SAM build image for Python 3.12, pinned to an exact SAM CLI release and build. It has both
/// the SAM CLI and AWS CLI v2 (plus `jq`, `make`, `unzip`) and an empty entrypoint, so scripts
/// run in it directly. Source: <https://github.com/aws/aws-sam-build-images> (`Dockerfile-python312`);
/// tags are `<sam-cli-version>-<build timestamp>-<arch>`.
pub const DEFAULT_IMAGE: &str = "public.ecr.aws/sam/build-python3.12:1.142.1-20250701194731-x86_64";

/// `slug=$(...)`: the branch name in `$variable` reduced to letters, digits and single `-`,
/// cut so that the app's feature-stack prefix plus the slug fits a stack name.
pub fn feature_slug(app: &str, variable: &str) -> String {
    let room = STACK_NAME_MAX - feature_stack_prefix(app).len();
    format!(
        "slug=$(printf '%s' \"${variable}\" | tr -c 'A-Za-z0-9' '-' | tr -s '-' | cut -c1-{room})"
    )
}

/// `sam deploy` of the built template to `stage` as stack `stack` (shell, quoted), reading
/// the bucket, the CloudFormation role and the image repository from `$ARTIFACTS_BUCKET`,
/// `$CLOUDFORMATION_EXECUTION_ROLE` and `$IMAGE_REPOSITORY`, and the region from `$region`.
/// The stage's parameter overrides apply to its own stack only (`overrides`).
pub fn sam_deploy(
    p: &Pipeline,
    stage: &StagePlan,
    stack: &str,
    region: &str,
    overrides: bool,
) -> String {
    let mut source = format!(
        "sam deploy \\\n  --template-file {BUILD_DIR}/template.yaml \\\n  --stack-name {stack} \\\n  --s3-bucket \"$ARTIFACTS_BUCKET\" \\\n  --s3-prefix {stack} \\\n  --region \"${region}\" \\\n  --role-arn \"$CLOUDFORMATION_EXECUTION_ROLE\" \\\n"
    );
    if stage.image_repository.is_some() {
        source.push_str("  --image-repository \"$IMAGE_REPOSITORY\" \\\n");
    }
    if overrides && !stage.parameter_overrides.is_empty() {
        // Validated `Key=Value` without quotes, `$`, backslashes or backticks.
        let overrides: Vec<String> = stage
            .parameter_overrides
            .iter()
            .map(|o| format!("'{o}'"))
            .collect();
        source.push_str(&format!(
            "  --parameter-overrides {} \\\n",
            overrides.join(" ")
        ));
    }
    source.push_str(&format!(
        "  --capabilities {} \\\n  --no-confirm-changeset \\\n  --no-fail-on-empty-changeset\n",
        p.workflow.capabilities.join(" ")
    ));
    source
}
