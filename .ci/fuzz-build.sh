#!/bin/sh
# Checks that the fuzz targets build and run their committed seeds without failing.
# Long runs are described in docs/security.md.
#
# cargo-fuzz needs a nightly toolchain (it builds with sanitizer coverage); the targets
# live in their own crate, fuzz/, which the main crate's builds never compile.
set -eu
cd "$(dirname "$0")/../fuzz"

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2
fi

cargo +nightly fuzz build --dev
for target in $(cargo +nightly fuzz list); do
    cargo +nightly fuzz run --dev "$target" -- -runs=0
done
