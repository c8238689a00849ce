#!/bin/sh
# reghivedump: the file splunkd runs for the `reghivedump` search command
# (default/commands.conf: filename = reghivedump.sh).
#
# It replaces itself with the build for this machine, found next to it in bin/:
#   Linux x86_64  -> reghivedump-x86_64
#   Linux aarch64 -> reghivedump-aarch64   (Splunk Cloud indexers)
# with the same arguments and standard streams, so splunkd talks to the binary directly.
# Where there is no build, or it is missing, it answers splunkd's first request (getinfo)
# with an error chunk, which Splunk shows as "Error in 'reghivedump' command: <reason>",
# writes the reason to stderr (the job's search.log) and exits 1.

case $0 in
  */*) dir=${0%/*} ;;
  *) dir=. ;;
esac

platform=$(uname -sm 2>/dev/null)
case $platform in
  'Linux x86_64' | 'Linux amd64') exe=$dir/reghivedump-x86_64 ;;
  'Linux aarch64' | 'Linux arm64') exe=$dir/reghivedump-aarch64 ;;
  *) exe= ;;
esac
if [ -n "$exe" ] && [ -x "$exe" ]; then
  exec "$exe" "$@"
fi

# Only letters, digits and . _ - from uname: the message goes into JSON unescaped.
platform=$(printf '%s' "$platform" | tr -c 'A-Za-z0-9._-' ' ')
if [ -z "$platform" ]; then
  msg="cannot tell this machine's platform: 'uname -sm' printed nothing"
elif [ -z "$exe" ]; then
  msg="this app has no build for the platform '$platform' (it ships Linux x86_64 and Linux aarch64 builds)"
else
  msg="bin/${exe##*/} is missing or not executable (platform '$platform'); reinstall the app and make sure bin/ is replicated to the search peers"
fi
printf 'reghivedump: %s\n' "$msg" >&2

# Read the request (a header line, then metadata and body of the lengths it gives) before
# answering it, as splunkd expects; skipped when run by hand from a terminal.
if [ ! -t 0 ] && IFS= read -r header; then
  case $header in
    'chunked 1.0,'*,*)
      lengths=${header#chunked 1.0,}
      meta_len=${lengths%%,*}
      body_len=${lengths#*,}
      case $meta_len$body_len in
        '' | *[!0-9]*) ;;
        *) dd bs=1 count=$((meta_len + body_len)) of=/dev/null 2>/dev/null ;;
      esac
      ;;
  esac
fi

reply="{\"finished\":true,\"inspector\":{\"messages\":[[\"ERROR\",\"$msg\"]]},\"error\":\"$msg\"}"
reply_len=$(printf '%s' "$reply" | wc -c)
printf 'chunked 1.0,%d,0\n%s' $((reply_len)) "$reply"
exit 1
