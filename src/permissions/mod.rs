//! What the pipeline's CloudFormation execution role must be allowed to do, derived from the
//! resources the application deploys.

pub mod sam;
