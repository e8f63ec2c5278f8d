#!/usr/bin/env bash
# Runs every cargo-fuzz target for a short while: ./fuzz/run-short.sh [seconds-per-target]
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Uses a nightly toolchain when one is installed,
# else the stable one with RUSTC_BOOTSTRAP=1 (cargo-fuzz passes -Z sanitizer flags; stable ships
# the AddressSanitizer runtime). Exits non-zero on the first crash; the reproducer is left in
# fuzz/artifacts/<target>/.
set -euo pipefail
seconds="${1:-30}"
cd "$(dirname "$0")/.."
targets=(ami_decode agi_env agi_reply lead_import ivr_flow)
toolchain=()
if cargo +nightly --version >/dev/null 2>&1; then
    toolchain=(+nightly)
else
    export RUSTC_BOOTSTRAP=1
fi
cargo "${toolchain[@]}" fuzz build
for target in "${targets[@]}"; do
    echo "fuzz: ${target} for ${seconds}s"
    mkdir -p "fuzz/corpus/${target}"
    cargo "${toolchain[@]}" fuzz run "${target}" "fuzz/corpus/${target}" -- \
        -max_total_time="${seconds}" -max_len=4096 -print_final_stats=1
done
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s without a crash"
