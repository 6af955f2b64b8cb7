# sampipe — the commands a contributor runs. `make demo` and `make test` are all a newcomer needs.
CARGO ?= cargo
DEMO_APP ?= fixtures/apps/python-api
DEMO_OUT ?= out/demo

.PHONY: all build demo test tools lint fmt snapshots bench clean

all: lint test

build:
	$(CARGO) build --release --locked

## Copy the bundled SAM app fixtures/apps/python-api (its sampipe.yaml included) to out/demo/
## as a stand-in repository, synthesize it (out/demo/pipeline/template.yaml, and the workflow
## where GitHub runs it: out/demo/.github/workflows/pipeline.yaml), show the trust and
## permissions maps, ask two trust questions and one permissions question, and check the
## outputs are up to date. `make test` deploys the same app.
demo: build
	mkdir -p $(DEMO_OUT)
	cp -R $(DEMO_APP)/. $(DEMO_OUT)/
	./target/release/sampipe synth -c $(DEMO_OUT)/sampipe.yaml -o $(DEMO_OUT)/pipeline
	./target/release/sampipe explain -c $(DEMO_OUT)/sampipe.yaml
	./target/release/sampipe trust -c $(DEMO_OUT)/sampipe.yaml --stage prod --subject environment:production
	./target/release/sampipe trust -c $(DEMO_OUT)/sampipe.yaml --stage prod --subject ref:refs/heads/feature-login || test $$? -eq 1 # DENY exits 1
	./target/release/sampipe can -c $(DEMO_OUT)/sampipe.yaml --stage dev --role feature --action cloudformation:ExecuteChangeSet --resource arn:aws:cloudformation:us-east-2:111111111111:stack/python-api-dev/1 || test $$? -eq 1 # the feature role cannot change the dev stack
	./target/release/sampipe check -c $(DEMO_OUT)/sampipe.yaml -o $(DEMO_OUT)/pipeline

## Install the external validators (cfn-lint, zizmor, check-jsonschema, actionlint, moto, aws)
## and the security scanners (checkov, parliament, shellcheck, cfn-guard with AWS's Control Tower
## Guard rules; the Guard Rules Registry is vendored in tests/scanners/guard-registry) into
## .tools/, then run every test, lints included. This is what CI runs.
## The scanners alone: `cargo test --test scanners` (tests/scanners.rs, allow list in
## tests/scanners/allow.yaml).
test: tools
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	SAMPIPE_TOOLS=$(CURDIR)/.tools $(CARGO) test --locked

tools:
	.ci/install-tools

## Regenerate src/permissions/data/ (IAM actions per resource type) from the cfn-lint `make tools`
## pins, reading only that package's files; commit the result. Same cfn-lint, same bytes.
permissions-table: tools
	.ci/refresh-permissions

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	@! grep -rnE 'dbg!|todo!|unimplemented!' src tests --include=*.rs

fmt:
	$(CARGO) fmt --all

## Benchmarks (tests/benches/BENCHMARKS.md): criterion in process (synth at 1 to 1000 stages,
## check over 200 configs), then whole-process wall time and peak memory of the release binary
## (needs hyperfine and GNU time: `apt-get install -y hyperfine time`).
bench: build
	$(CARGO) bench --locked --bench synth
	tests/benches/whole-process.sh

## A generated valid config with STAGES stages: `make bench-config STAGES=1000` writes
## out/bench-config/stages-1000.yaml.
STAGES ?= 1000
.PHONY: bench-config
bench-config:
	@mkdir -p out/bench-config
	$(CARGO) bench --locked --quiet --bench synth -- --print-config $(STAGES) > out/bench-config/stages-$(STAGES).yaml
	@echo out/bench-config/stages-$(STAGES).yaml

## Review changed snapshots interactively (needs `cargo install cargo-insta`).
snapshots:
	$(CARGO) insta test --review

clean:
	rm -rf out target

## Fuzz config parsing, validation and synth (tests/fuzz/README.md) for FUZZ_SECONDS; a panic
## anywhere fails with the input saved under tests/fuzz/artifacts/. Needs `cargo install
## cargo-fuzz`; runs on stable through RUSTC_BOOTSTRAP. Not part of `make test`.
## Example: make fuzz FUZZ_SECONDS=600 FUZZ_ARGS=-fork=2
FUZZ_SECONDS ?= 60
FUZZ_SANITIZER ?= address
FUZZ_ARGS ?=
FUZZ_WORK ?= tests/fuzz/work/config_synth

.PHONY: fuzz
fuzz:
	mkdir -p $(FUZZ_WORK)
	RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --fuzz-dir tests/fuzz --target-dir target/fuzz \
		--sanitizer $(FUZZ_SANITIZER) \
		config_synth $(FUZZ_WORK) tests/fuzz/corpus/config_synth -- \
		-dict=tests/fuzz/yaml.dict -max_total_time=$(FUZZ_SECONDS) -timeout=10 $(FUZZ_ARGS)
