#!/usr/bin/env bash
# Package test: unpack the package and check that both builds in it behave the same when
# started the way splunkd starts them (through bin/reghivedump.sh, the dispatcher).
#   1. the same request stream -> byte-identical replies from x86_64 (native) and aarch64
#      (under qemu-aarch64), for a good search and for a bad option;
#   2. the cargo protocol tests (fake splunkd in tests/) against each packaged build, via
#      REGHIVEDUMP_COMMAND;
#   3. the dispatcher's own error replies (unknown platform, missing build), byte for byte.
# Usage (repo root, as root on Debian 12): bash .ci/package-test.sh target/package/reghivedump-<version>.tgz
set -euo pipefail
export LC_ALL=C   # ${#var} counts bytes

PKG=$(realpath "${1:?usage: package-test.sh <package.tgz>}")
APP=reghivedump
VERSION=${PKG##*/"$APP"-}   # the package is named <app>-<version>.tgz
VERSION=${VERSION%.tgz}
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
passed=0
ok() { passed=$((passed + 1)); printf '    ok: %s\n' "$*"; }

# qemu-aarch64 runs the aarch64 build against the arm64 glibc that dpkg's multiarch installs
# (libc6:arm64, at /lib/ld-linux-aarch64.so.1). Never with -L /usr/aarch64-linux-gnu: threads
# hang there under qemu-user 7.2.
# shellcheck source=lib.sh
. .ci/lib.sh
apt_ensure qemu-user libc6:arm64

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/x86_64" "$work/aarch64" "$work/shim"
tar -C "$work/x86_64" -xzf "$PKG"
tar -C "$work/aarch64" -xzf "$PKG"
X=$work/x86_64/$APP/bin
A=$work/aarch64/$APP/bin
[ -x "$X/$APP.sh" ] && [ -x "$X/$APP-x86_64" ] && [ -x "$X/$APP-aarch64" ] || fail "bin/ of the package is incomplete"

# The aarch64 copy is started exactly like the x86_64 one, through the dispatcher, on a
# machine that says it is aarch64: a uname that answers "Linux aarch64", and (no binfmt_misc
# here) the build moved aside for a two-line stand-in that runs it under qemu-aarch64.
printf '#!/bin/sh\necho "Linux aarch64"\n' > "$work/shim/uname-aarch64"
mv "$A/$APP-aarch64" "$A/$APP-aarch64.elf"
printf '#!/bin/sh\nexec qemu-aarch64 "$0.elf" "$@"\n' > "$A/$APP-aarch64"
chmod 755 "$work/shim/uname-aarch64" "$A/$APP-aarch64"
mkdir "$work/shim/aarch64"
ln -s ../uname-aarch64 "$work/shim/aarch64/uname"
run_x86_64() { "$X/$APP.sh" "$@"; }
run_aarch64() { PATH="$work/shim/aarch64:$PATH" "$A/$APP.sh" "$@"; }

echo "--- builds and versions"
for arch in x86_64 aarch64; do
  f=$work/$arch/$APP/bin/$APP-$arch
  [ "$arch" = aarch64 ] && f=$f.elf
  case $arch/$(file -b "$f") in
    'x86_64/ELF 64-bit LSB pie executable, x86-64,'* | 'aarch64/ELF 64-bit LSB pie executable, ARM aarch64,'*) ;;
    *) fail "$APP-$arch is $(file -b "$f")" ;;
  esac
  v=$("run_$arch" --version) || fail "$APP-$arch --version exited $?"
  [ "$v" = "$APP $VERSION" ] || fail "$APP-$arch --version printed '$v', expected '$APP $VERSION'"
  ok "$arch via the dispatcher: $v"
done

# ---- 1. same requests, same reply bytes --------------------------------------------------------
chunk() { printf 'chunked 1.0,%d,%d\n%s%s' "${#1}" "${#2}" "$1" "$2"; }
getinfo() { # raw args as one JSON array body, e.g. '"mode=extended","filter=t"'
  chunk "{\"action\":\"getinfo\",\"preview\":false,\"streaming_command_will_restart\":false,\"searchinfo\":{\"args\":[$1],\"raw_args\":[$1],\"dispatch_dir\":\"$work\",\"sid\":\"1700000000.42\",\"app\":\"search\",\"owner\":\"admin\",\"username\":\"admin\",\"splunkd_uri\":\"https://127.0.0.1:8089\",\"splunk_version\":\"9.3.1\",\"search\":\"search index%3Dmain %7C $APP\",\"command\":\"$APP\",\"maxresultrows\":50000,\"earliest_time\":\"0\",\"latest_time\":\"0\"}}" ''
}
rows='_time,host,process_name,process,dest,user,Image,CommandLine,Computer,User
1700000000,ws01,reg.exe,reg save HKLM\sam C:\x,ws01,alice,,,,
1700000001,ws02,notepad.exe,"notepad.exe C:\notes.txt",ws02,bob,,,,
'
more_rows='_time,host,process_name,process,dest,user,Image,CommandLine,Computer,User
1700000002,ws03,,,,,C:\Windows\System32\reg.exe,"reg.exe save HKLM\SECURITY C:\s.hiv",ws03.example.org,CORP\carol
'
{ getinfo ''
  chunk '{"action":"execute","finished":false}' "$rows"
  chunk '{"action":"execute","finished":true}' "$more_rows"; } > "$work/req-default"
{ getinfo '"filter=t"'
  chunk '{"action":"execute","finished":false}' "$rows"
  chunk '{"action":"execute","finished":true}' "$more_rows"; } > "$work/req-filter"
getinfo '"mode=fast"' > "$work/req-badopt"

echo "--- same request stream, same reply bytes"
for req in default filter badopt; do
  for arch in x86_64 aarch64; do
    rc=0
    "run_$arch" < "$work/req-$req" > "$work/out-$req-$arch" 2> "$work/err-$req-$arch" || rc=$?
    echo "$rc" > "$work/rc-$req-$arch"
  done
  cmp "$work/out-$req-x86_64" "$work/out-$req-aarch64" || fail "$req: replies differ between x86_64 and aarch64"
  cmp "$work/err-$req-x86_64" "$work/err-$req-aarch64" || fail "$req: stderr differs between x86_64 and aarch64"
  cmp "$work/rc-$req-x86_64" "$work/rc-$req-aarch64" || fail "$req: exit codes differ ($(cat "$work/rc-$req-x86_64") vs $(cat "$work/rc-$req-aarch64"))"
  # The replies must be well-formed chunks, one per request, and say what they should.
  python3 - "$work/out-$req-x86_64" "$req" "$(cat "$work/rc-$req-x86_64")" <<'PY' || fail "$req: replies are wrong (above)"
import json, sys
data, req, rc = open(sys.argv[1], "rb").read(), sys.argv[2], int(sys.argv[3])
replies, pos = [], 0
while pos < len(data):
    end = data.index(b"\n", pos)
    head = data[pos:end].decode()
    assert head.startswith("chunked 1.0,"), f"bad header {head!r}"
    m, b = map(int, head[len("chunked 1.0,"):].split(","))
    meta = json.loads(data[end + 1:end + 1 + m])
    body = data[end + 1 + m:end + 1 + m + b]
    assert len(body) == b, "truncated chunk"
    replies.append((meta, body))
    pos = end + 1 + m + b
if req == "badopt":
    assert rc == 1, f"exit code {rc}, expected 1"
    assert len(replies) == 1, f"{len(replies)} replies to a bad getinfo"
    meta = replies[0][0]
    assert meta.get("finished") is True and meta.get("error"), meta
    assert any(level == "ERROR" for level, _ in meta["inspector"]["messages"]), meta
else:
    assert rc == 0, f"exit code {rc}, expected 0"
    assert len(replies) == 3, f"{len(replies)} replies to 3 requests"
    assert replies[0][0].get("type") == "streaming", replies[0][0]
    bodies = b"".join(body for _, body in replies[1:])
    assert b"14038953-e5f2-4daf-acff-5452062baf03" in bodies, "no detection in the replies"
    for host in (b"ws01", b"ws03"):
        assert host in bodies, f"row {host} is missing"
    if req == "filter":
        assert b"ws02" not in bodies, "filter=t kept the benign row"
    else:
        assert b"ws02" in bodies, "the benign row is missing"
print(f"    {req}: {len(replies)} replies, {len(data)} bytes, exit {rc}")
PY
  ok "$req: x86_64 and aarch64 replies identical ($(wc -c < "$work/out-$req-x86_64") bytes)"
done

# ---- 2. the protocol tests of tests/ against each packaged build ---------------------------------
echo "--- cargo protocol tests against the packaged builds"
cargo test --release --test tests --no-run 2>&1 | tail -n 1
for cmd in "$X/$APP.sh" "qemu-aarch64 $A/$APP-aarch64.elf"; do
  out=$(REGHIVEDUMP_COMMAND=$cmd cargo test --release --test tests protocol 2>&1) || { echo "$out"; fail "protocol tests with REGHIVEDUMP_COMMAND='$cmd'"; }
  n=$(sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' <<<"$out" | tail -n 1)
  [ "${n:-0}" -gt 0 ] || { echo "$out"; fail "no protocol test ran with REGHIVEDUMP_COMMAND='$cmd'"; }
  ok "$n protocol tests pass with REGHIVEDUMP_COMMAND='${cmd//"$work"\//}'"
done

# ---- 3. the dispatcher's own replies -----------------------------------------------------------
echo "--- dispatcher error replies"
expect_error() { # name, message, command...
  local name=$1 msg=$2 meta rc=0
  shift 2
  meta="{\"finished\":true,\"inspector\":{\"messages\":[[\"ERROR\",\"$msg\"]]},\"error\":\"$msg\"}"
  printf 'chunked 1.0,%d,0\n%s' "${#meta}" "$meta" > "$work/want-$name"
  "$@" < "$work/req-default" > "$work/got-$name" 2> "$work/stderr-$name" || rc=$?
  [ "$rc" = 1 ] || fail "$name: exit code $rc, expected 1"
  cmp "$work/want-$name" "$work/got-$name" || { od -c "$work/got-$name" | head >&2; fail "$name: reply bytes"; }
  grep -qF "reghivedump: $msg" "$work/stderr-$name" || fail "$name: message not on stderr"
  ok "$name: $(head -c 60 "$work/got-$name" | head -n 1)... ($(wc -c < "$work/got-$name") bytes), exit 1"
}
for platform in 'Linux sparc64' 'Darwin x86_64' 'Linux armv7l'; do
  d=$work/shim/${platform// /-}
  mkdir "$d"
  printf '#!/bin/sh\necho "%s"\n' "$platform" > "$d/uname"
  chmod 755 "$d/uname"
  expect_error "platform-${platform// /-}" \
    "this app has no build for the platform '$platform' (it ships Linux x86_64 and Linux aarch64 builds)" \
    env PATH="$d:$PATH" "$X/$APP.sh"
done
printf '#!/bin/sh\nexit 1\n' > "$work/shim/failing-uname"
mkdir "$work/shim/no-uname"
ln -s ../failing-uname "$work/shim/no-uname/uname"
chmod 755 "$work/shim/failing-uname"
expect_error "uname-fails" "cannot tell this machine's platform: 'uname -sm' printed nothing" \
  env PATH="$work/shim/no-uname:$PATH" "$X/$APP.sh"
rm "$A/$APP-aarch64"
expect_error "missing-aarch64-build" \
  "bin/$APP-aarch64 is missing or not executable (platform 'Linux aarch64'); reinstall the app and make sure bin/ is replicated to the search peers" \
  run_aarch64
# The error reply must come after the whole request was read: nothing left in the pipe that
# the dispatcher did not consume before answering.
{ getinfo ''; printf 'AFTER'; } > "$work/req-getinfo-then-more"
left=$(cat "$work/req-getinfo-then-more" | PATH="$work/shim/Linux-sparc64:$PATH" sh -c '"$1" >/dev/null 2>&1; cat' sh "$X/$APP.sh")
[ "$left" = AFTER ] || fail "dispatcher did not read exactly the getinfo request (left: '${left:0:40}')"
ok "dispatcher reads exactly the getinfo request before replying"

echo "$passed passed, 0 failed"
