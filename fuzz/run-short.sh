#!/usr/bin/env bash
# Runs every cargo-fuzz target for a short while: ./fuzz/run-short.sh [seconds-per-target]
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Exits non-zero on the
# first crash; the reproducer is left in fuzz/artifacts/<target>/.
set -euo pipefail
seconds="${1:-30}"
cd "$(dirname "$0")/.."
targets=(ami_decode agi_env agi_reply lead_import)
cargo +nightly fuzz build
for target in "${targets[@]}"; do
    echo "fuzz: ${target} for ${seconds}s"
    mkdir -p "fuzz/corpus/${target}"
    cargo +nightly fuzz run "${target}" "fuzz/corpus/${target}" -- \
        -max_total_time="${seconds}" -max_len=4096 -print_final_stats=1
done
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s without a crash"
