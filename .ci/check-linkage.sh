#!/bin/sh
# The release binary must run on any Splunk host with a C library and nothing else
# installed, and must not even be able to open a network connection by name.
#
# Usage: .ci/check-linkage.sh [BINARY]   (default: build target/release/reghivedump)
#
# Allowed NEEDED entries:
#   libc.so.6                  the C library
#   libm.so.6                  its maths part, a separate file on glibc
#   libgcc_s.so.1              stack unwinding, which Rust's std links on glibc for
#                              backtraces even with panic = "abort"
#   libpthread.so.0 libdl.so.2 librt.so.1
#                              parts of glibc that were separate files before 2.34, named
#                              by builds for older glibc
#   ld-linux-*.so.*            the dynamic loader
# and no imported symbol of the socket or name-resolution API.
set -eu
cd "$(dirname "$0")/.."

bin=${1:-}
if [ -z "$bin" ]; then
    cargo build --release --locked
    bin=target/release/reghivedump
fi

status=0
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
for lib in $needed; do
    case $lib in
        libc.so.6 | libm.so.6 | libgcc_s.so.1 | libpthread.so.0 | libdl.so.2 | librt.so.1 | ld-linux-*.so.*) ;;
        *)
            echo "check-linkage: $bin needs $lib, which is not the C library" >&2
            status=1
            ;;
    esac
done

imports=$(nm -D --undefined-only "$bin" | awk '{print $NF}' | sed 's/@.*//')
for sym in socket socketpair connect bind listen accept accept4 send sendto sendmsg \
    sendmmsg recv recvfrom recvmsg recvmmsg getaddrinfo gethostbyname gethostbyname_r \
    getnameinfo; do
    if printf '%s\n' "$imports" | grep -qx "$sym"; then
        echo "check-linkage: $bin imports $sym" >&2
        status=1
    fi
done

if [ "$status" -eq 0 ]; then
    echo "check-linkage: $bin needs only: $(echo $needed); no socket API imported"
fi
exit "$status"
