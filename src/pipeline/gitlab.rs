//! Renders the pipeline model as the gitlab CI file. (Being written.)

use crate::diag::Diagnostic;
use crate::pipeline::Pipeline;

/// The CI file's text.
pub fn render(_p: &Pipeline) -> Result<String, Diagnostic> {
    Err(Diagnostic::error(
        "internal-error",
        "the gitlab renderer is not written yet",
    ))
}
