#!/usr/bin/env bash
# Builds the Splunk app package target/package/reghivedump-<version>.tgz:
#   reghivedump/default/       conf files, version substituted from Cargo.toml
#   reghivedump/metadata/, app.manifest, README.md   from app/
#   reghivedump/bin/reghivedump.sh                    the dispatcher splunkd runs (from bin/)
#   reghivedump/bin/reghivedump-x86_64, -aarch64      release builds, glibc >= 2.17 only
# Run as root on Debian 12 (bookworm). The first run installs the cross toolchain with apt
# (Debian's rustc-web with its arm64 std) and zig with cargo-zigbuild into a venv under
# target/; later runs reuse them. Build output goes to stderr; the last line of stdout is
# the package's path.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
APP=reghivedump
GLIBC_FLOOR=2.17                 # symbol versions the binaries may require, at most
ZIGLANG_VERSION=0.17.1
CARGO_ZIGBUILD_VERSION=0.24.1
TOOLS=$ROOT/target/tools         # venv with zig + cargo-zigbuild
BUILD=$ROOT/target/package-build # cargo target dir of the two release builds
OUT=$ROOT/target/package

say() { printf 'package.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# ---- version: Cargo.toml is the only place it is written ---------------------------------
VERSION=$(awk -F'"' '/^\[/ { pkg = ($0 == "[package]") } pkg && /^version *=/ { print $2; exit }' Cargo.toml)
[[ $VERSION =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "Cargo.toml version '$VERSION' is not MAJOR.MINOR.PATCH"
(( BASH_REMATCH[2] < 100 && BASH_REMATCH[3] < 100 )) || die "minor and patch must stay below 100 (they form [install] build)"
# [install] build must grow with every release: derive it from the version (0.1.0 -> 100, 1.2.3 -> 10203).
BUILD_NUMBER=$(( 10#${BASH_REMATCH[1]} * 10000 + 10#${BASH_REMATCH[2]} * 100 + 10#${BASH_REMATCH[3]} ))

# ---- toolchain (installed once, reused) -----------------------------------------------------
# shellcheck source=../.ci/lib.sh
. .ci/lib.sh
# rustc-web/cargo-web: Debian's Rust (bookworm-security), whose prebuilt std also exists for arm64;
# rustup's stable has no aarch64 std here. zig (below) links both targets against glibc 2.17.
apt_ensure gcc libc6-dev binutils file rustc-web cargo-web libstd-rust-web-dev libstd-rust-web-dev:arm64
venv_ensure "$TOOLS/zig-venv" "ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION"

# ---- build -----------------------------------------------------------------------------------
# Debian's cargo/rustc come before rustup's proxies; nothing from the caller's environment
# may pick another linker or add flags (a CARGO_TARGET_*_LINKER would silently replace zig).
for v in $(env | sed -n 's/^\(CARGO_TARGET_[A-Z0-9_]*\|CARGO_BUILD_TARGET[A-Z_]*\|CARGO_ENCODED_RUSTFLAGS\|RUSTFLAGS\|RUSTC_WRAPPER\|RUSTC_WORKSPACE_WRAPPER\|RUSTUP_TOOLCHAIN\|CARGO_PROFILE_[A-Z0-9_]*\)=.*/\1/p'); do
  unset "$v"
done
export PATH="$TOOLS/zig-venv/bin:/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc CARGO=/usr/bin/cargo
# Keep this machine's paths out of the binaries (panic locations name source files).
export RUSTFLAGS="--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo --remap-path-prefix=$ROOT=/reghivedump"
say "$(rustc -V) / $(cargo -V) / zig $(python3 -m ziglang version)"

locked=()
[ -f Cargo.lock ] && git ls-files --error-unmatch Cargo.lock >/dev/null 2>&1 && locked=(--locked)

declare -A TRIPLE=([x86_64]=x86_64-unknown-linux-gnu [aarch64]=aarch64-unknown-linux-gnu)
declare -A FILEDESC=([x86_64]="x86-64" [aarch64]="ARM aarch64")
for arch in x86_64 aarch64; do
  say "building $APP $VERSION for ${TRIPLE[$arch]} (glibc $GLIBC_FLOOR)"
  cargo-zigbuild zigbuild "${locked[@]}" --release --bin "$APP" \
    --target "${TRIPLE[$arch]}.$GLIBC_FLOOR" --target-dir "$BUILD" >&2
done

# ---- check what was built --------------------------------------------------------------------
# Every shipped binary must be an ELF of its architecture that needs nothing beyond glibc's own
# libraries, at symbol versions no newer than GLIBC_FLOOR.
for arch in x86_64 aarch64; do
  exe=$BUILD/${TRIPLE[$arch]}/release/$APP
  desc=$(file -b "$exe")
  [[ $desc == "ELF 64-bit LSB pie executable, ${FILEDESC[$arch]},"* ]] || die "$exe: unexpected file type: $desc"
  needed=$(objdump -p "$exe" | awk '$1 == "NEEDED" { print $2 }' | sort -u | tr '\n' ' ')
  for lib in $needed; do
    case $lib in libc.so.6|libm.so.6|libpthread.so.0|libdl.so.2|librt.so.1|ld-linux-*) ;;
      *) die "$exe needs $lib; only glibc's own libraries are allowed" ;;
    esac
  done
  glibc=$(objdump -T "$exe" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
  [ "$(printf '%s\n%s\n' "$glibc" "$GLIBC_FLOOR" | sort -V | tail -n 1)" = "$GLIBC_FLOOR" ] \
    || die "$exe needs GLIBC_$glibc, newer than $GLIBC_FLOOR"
  say "$APP-$arch: $(stat -c %s "$exe") bytes, needs ${needed}(highest symbol version GLIBC_$glibc)"
done

# ---- stage and pack --------------------------------------------------------------------------
stage=$OUT/stage
rm -rf "$stage"
mkdir -p "$stage/$APP/bin" "$stage/$APP/default"
# app/ goes to the app root as it is, except this script and anything hidden.
cp -R app/. "$stage/$APP/"
rm "$stage/$APP/package.sh"
cp -R default/. "$stage/$APP/default/"
find "$stage/$APP" -name '.*' -prune -exec rm -rf {} +
cp bin/$APP.sh "$stage/$APP/bin/$APP.sh"
for arch in x86_64 aarch64; do
  cp "$BUILD/${TRIPLE[$arch]}/release/$APP" "$stage/$APP/bin/$APP-$arch"
done
find "$stage/$APP" -type f \( -name '*.conf' -o -name app.manifest \) \
  -exec sed -i -e "s/@VERSION@/$VERSION/g" -e "s/@BUILD@/$BUILD_NUMBER/g" {} +
if grep -rlI -e '@VERSION@' -e '@BUILD@' "$stage/$APP" >&2; then die "placeholders left in the files above"; fi
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$stage/$APP/app.manifest" \
  || die "app.manifest is not valid JSON"

find "$stage/$APP" -type d -exec chmod 755 {} +
find "$stage/$APP" -type f -exec chmod 644 {} +
chmod 755 "$stage/$APP/bin/"*

pkg=$OUT/$APP-$VERSION.tgz
# Same inputs, same bytes: fixed order, owner and time (the commit's, else Cargo.toml's).
mtime=$(git log -1 --format=%ct 2>/dev/null || stat -c %Y Cargo.toml)
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" \
  --format=gnu -cf - "$APP" | gzip -9 -n > "$pkg.tmp"
mv "$pkg.tmp" "$pkg"
say "wrote $pkg ($(stat -c %s "$pkg") bytes)"
echo "$pkg"
