#!/usr/bin/env bash
# Package checks: build the Splunk app package, run AppInspect on it in the three modes that
# matter (default, precert, cloud), check the layout, modes and versions of what is inside,
# then run the package test (.ci/package-test.sh) on it.
# Run from the repo root as root on Debian 12; installs what it needs with apt and pip
# (into venvs under target/tools/). Exits non-zero on the first problem.
set -euo pipefail

APP=reghivedump
APPINSPECT_VERSION=4.3.1
TOOLS=$PWD/target/tools

[ -f Cargo.toml ] && [ -f app/package.sh ] || { echo "run from the repo root" >&2; exit 2; }
t_start=$SECONDS
step() { printf '\n==> %s\n' "$*"; t_step=$SECONDS; }
took() { printf '    (%ds)\n' $((SECONDS - t_step)); }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

step "build the package (app/package.sh)"
PKG=$(bash app/package.sh | tail -n 1)
[ -f "$PKG" ] || fail "app/package.sh did not print a package path (got '$PKG')"
# Cargo's own reading of Cargo.toml, independent of the one in app/package.sh.
VERSION=$(cargo metadata --no-deps --format-version 1 --locked |
  python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == sys.argv[1]))' "$APP")
[ "$(basename "$PKG")" = "$APP-$VERSION.tgz" ] || fail "package is named $(basename "$PKG"), expected $APP-$VERSION.tgz"
echo "    $PKG"
took

step "AppInspect $APPINSPECT_VERSION (default, precert, cloud)"
# shellcheck source=lib.sh
. .ci/lib.sh
apt_ensure libmagic1
venv=$TOOLS/appinspect-venv
venv_ensure "$venv" "splunk-appinspect==$APPINSPECT_VERSION"
report_dir=$(dirname "$PKG")
for mode in default precert cloud; do
  case $mode in
    default) args=() ;;
    precert) args=(--mode precert) ;;
    cloud) args=(--included-tags cloud) ;;
  esac
  json=$report_dir/appinspect-$mode.json
  rc=0
  "$venv/bin/splunk-appinspect" inspect "$PKG" "${args[@]}" --ci --skip-trusted-libraries-update \
    --data-format json --output-file "$json" >"$report_dir/appinspect-$mode.log" 2>&1 || rc=$?
  # Count from the report too: every check must pass or not apply (a skipped check means
  # something it needs, such as a valid app.manifest, is missing).
  summary=$("$venv/bin/python" - "$json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
s = report["summary"]
bad = []
for app in report["reports"]:
    for group in app["groups"]:
        for check in group["checks"]:
            if check["result"] not in ("success", "not_applicable"):
                bad.append(f'{check["result"]}: {check["name"]}: ' + "; ".join(m.get("message", "") for m in check.get("messages", [])))
print(" ".join(f"{k}={v}" for k, v in s.items()))
for b in bad:
    print("    " + b)
sys.exit(1 if bad or any(v for k, v in s.items() if k not in ("success", "not_applicable")) else 0)
PY
  ) || { echo "    $mode: $summary"; fail "AppInspect $mode mode is not clean (log: $report_dir/appinspect-$mode.log)"; }
  [ "$rc" -eq 0 ] || fail "AppInspect $mode mode exited $rc (log: $report_dir/appinspect-$mode.log)"
  printf '    %-8s %s\n' "$mode:" "$summary"
done
took

step "layout, modes and versions inside the package"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
listing=$(tar -tzvf "$PKG")
names=$(tar -tzf "$PKG" | LC_ALL=C sort)
# Exactly the committed files of app/ (but package.sh) and default/, the dispatcher and the
# two builds, with their folders: nothing left over from a build, nothing missing.
expected=$( { git ls-files app default | sed -e '/^app\/package\.sh$/d' -e "s#^app/#$APP/#" -e "s#^default/#$APP/default/#"
              printf '%s\n' "$APP/bin/$APP.sh" "$APP/bin/$APP-x86_64" "$APP/bin/$APP-aarch64"; } |
            awk '{ n = split($0, p, "/"); d = ""; for (i = 1; i < n; i++) { d = d p[i] "/"; print d }; print }' |
            LC_ALL=C sort -u)
[ "$names" = "$expected" ] || { diff <(echo "$expected") <(echo "$names") >&2 || true; fail "package contents differ from the expected list (above)"; }
awk '$2 != "0/0" { bad = 1; print "not owned by 0/0: " $0 } END { exit bad }' <<<"$listing" >&2 || fail "owner/group"
tar -C "$work" -xzf "$PKG"
while IFS= read -r -d '' f; do
  rel=${f#"$work"/}
  mode=$(stat -c %a "$f")
  case $rel in
    */.*) fail "dotfile in package: $rel" ;;
  esac
  if [ -d "$f" ]; then want=755
  elif [[ $rel == "$APP"/bin/* ]]; then want=755
  else want=644
  fi
  [ "$mode" = "$want" ] || fail "$rel has mode $mode, expected $want"
done < <(find "$work/$APP" -print0)
conf_value() { # file stanza key
  awk -v s="[$2]" -v k="$3" '/^\[/ { in_s = ($0 == s) } in_s && $1 == k && $2 == "=" { sub(/^[^=]*= */, ""); print; exit }' "$1"
}
a=$work/$APP
[ "$(conf_value "$a/default/app.conf" launcher version)" = "$VERSION" ] || fail "app.conf [launcher] version"
[ "$(conf_value "$a/default/app.conf" id version)" = "$VERSION" ] || fail "app.conf [id] version"
[ "$(conf_value "$a/default/app.conf" id name)" = "$APP" ] || fail "app.conf [id] name"
[ "$(conf_value "$a/default/app.conf" package id)" = "$APP" ] || fail "app.conf [package] id"
[[ $(conf_value "$a/default/app.conf" install build) =~ ^[1-9][0-9]*$ ]] || fail "app.conf [install] build"
python3 - "$a/app.manifest" "$APP" "$VERSION" <<'PY' || fail "app.manifest id/version"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["info"]["id"]["name"] == sys.argv[2], m["info"]["id"]
assert m["info"]["id"]["version"] == sys.argv[3], m["info"]["id"]
PY
[ "$(conf_value "$a/default/commands.conf" "$APP" chunked)" = true ] || fail "commands.conf chunked"
cmd_file=$(conf_value "$a/default/commands.conf" "$APP" filename)
[ -x "$a/bin/$cmd_file" ] || fail "commands.conf filename '$cmd_file' is not an executable in bin/"
[ "$(head -n 1 "$a/bin/$cmd_file")" = "#!/bin/sh" ] || fail "bin/$cmd_file does not start with #!/bin/sh"
sh -n "$a/bin/$cmd_file" || fail "bin/$cmd_file: shell syntax"
if grep -rn '@VERSION@\|@BUILD@' "$a" >&2; then fail "unsubstituted placeholders"; fi
echo "    $(wc -l <<<"$names") entries, owner 0/0, modes 755/644, version $VERSION everywhere"
took

step "package test (.ci/package-test.sh)"
bash .ci/package-test.sh "$PKG"
took

step "unit tests built for aarch64, under qemu-aarch64 (the NEON code of src/csvscan/masks.rs)"
# The toolchain app/package.sh installed and the arm64 glibc the package test did; the test
# binary is the one cargo reports for the library's unit tests.
tests_exe=$(PATH="$TOOLS/zig-venv/bin:/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc CARGO=/usr/bin/cargo \
  cargo-zigbuild test --no-run --locked --lib --target aarch64-unknown-linux-gnu.2.17 \
    --target-dir target/aarch64-tests --message-format=json |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["profile"]["test"] and "lib" in m["target"]["kind"]:
        print(m["executable"])')
[ -x "$tests_exe" ] || fail "no aarch64 unit-test binary was built"
qemu-aarch64 "$tests_exe" --test-threads 2
took

printf '\npackage checks passed in %ds\n' $((SECONDS - t_start))
