//! Config bytes in, outputs out: `load_bytes`, then `synthesize`, then every output file parsed
//! back as YAML. Bad input must come back as diagnostics; a panic anywhere is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(loaded) = sampipe::config::load_bytes("sampipe.yaml", data) else {
        return;
    };
    let Ok(synthesis) = sampipe::pipeline::synthesize(&loaded.config) else {
        return;
    };
    for file in &synthesis.files {
        if let Err(error) = serde_yaml::from_str::<serde_yaml::Value>(&file.contents) {
            panic!(
                "synthesized {} does not parse back as YAML: {error}\n---\n{}",
                file.file_name, file.contents
            );
        }
    }
});
