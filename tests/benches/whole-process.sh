#!/usr/bin/env bash
# Whole-process measurements of the release binary (see BENCHMARKS.md beside this file):
#
# - wall time (hyperfine) and peak resident memory (GNU time) of `sampipe synth` on the
#   bundled demo (fixtures/two-stages.yaml) and on generated 100- and 200-stage configs (200 is
#   the most one template holds),
#   with the outputs already up to date (nothing is rewritten) and with a fresh out directory;
# - wall time of `sampipe check` over the check benchmark's 200 configs, one process each.
#
# Usage: tests/benches/whole-process.sh [OUT_DIR]   (default: out/bench; it is recreated)
# Needs: hyperfine (`apt-get install -y hyperfine`), GNU time (`apt-get install -y time`), python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

out=${1:-out/bench}
bin=target/release/sampipe

if ! command -v hyperfine >/dev/null; then
    echo "whole-process.sh: needs hyperfine (apt-get install -y hyperfine)" >&2
    exit 2
fi
if ! [ -x /usr/bin/time ]; then
    echo "whole-process.sh: needs GNU time at /usr/bin/time (apt-get install -y time)" >&2
    exit 2
fi

cargo build --release --locked --quiet
rm -rf "$out"
mkdir -p "$out"
for stages in 100 200; do
    cargo bench --locked --quiet --bench synth -- --print-config "$stages" >"$out/stages-$stages.yaml"
done
cargo bench --locked --quiet --bench synth -- --check-folder "$out/check" >"$out/check-dirs.txt"

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $bin ($(stat -c %s "$bin") bytes)"

# name, config, hyperfine runs
cases=(
    "demo fixtures/two-stages.yaml 300"
    "stages-100 $out/stages-100.yaml 100"
    "stages-200 $out/stages-200.yaml 50"
)
for case in "${cases[@]}"; do
    read -r name config runs <<<"$case"
    # Outputs up to date: what a re-run (make, CI) does; nothing is written.
    "$bin" synth -q -c "$config" -o "$out/$name"
    hyperfine -N --style basic --warmup 5 --runs "$runs" --export-json "$out/$name.json" \
        "$bin synth -q -c $config -o $out/$name"
    # A fresh out directory: both files are written (and synced) each run.
    hyperfine -N --style basic --warmup 3 --runs "$runs" --export-json "$out/$name-fresh.json" \
        --prepare "rm -rf $out/$name-fresh" \
        "$bin synth -q -c $config -o $out/$name-fresh"
    # Peak resident set size (GNU time's "Maximum resident set size"), the largest of 5 runs, KiB.
    for _ in 1 2 3 4 5; do
        /usr/bin/time -v "$bin" synth -q -c "$config" -o "$out/$name" 2>&1 >/dev/null |
            sed -n 's/^\s*Maximum resident set size (kbytes): //p'
    done | sort -n | tail -1 >"$out/$name.rss"
done

# `sampipe check` over 200 up-to-date configs, one process per config.
cat >"$out/check-all.sh" <<EOF
#!/usr/bin/env bash
while read -r dir; do
    "$bin" check -c "\$dir/sampipe.yaml" -o "\$dir/out" >/dev/null || exit 1
done <"$out/check-dirs.txt"
EOF
chmod +x "$out/check-all.sh"
hyperfine -N --style basic --warmup 1 --runs 10 --export-json "$out/check-200.json" "$out/check-all.sh"

python3 - "$out" <<'EOF'
import json, sys
out = sys.argv[1]
def times(name):
    r = json.load(open(f"{out}/{name}.json"))["results"][0]
    return r["median"] * 1000, r["mean"] * 1000, r["stddev"] * 1000, r["min"] * 1000
print()
print(f"{'case':<22}{'median ms':>10}{'mean ms':>10}{'σ ms':>8}{'min ms':>9}{'peak RSS MiB':>14}")
for name in ["demo", "stages-100", "stages-200"]:
    rss = int(open(f"{out}/{name}.rss").read()) / 1024
    for suffix in ["", "-fresh"]:
        median, mean, sd, low = times(name + suffix)
        shown = f"{rss:14.1f}" if not suffix else ""
        print(f"{'synth ' + name + suffix:<22}{median:10.2f}{mean:10.2f}{sd:8.2f}{low:9.2f}{shown}")
median, mean, sd, low = times("check-200")
print(f"{'check 200 configs':<22}{median:10.1f}{mean:10.1f}{sd:8.1f}{low:9.1f}")
growth = times("stages-200")[0] / times("stages-100")[0]
print(f"\ngrowth 100 -> 200 stages (median, outputs up to date): {growth:.2f}x")
EOF
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
