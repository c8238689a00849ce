# Shared by app/package.sh and the .ci scripts (sourced, not run): install what a step
# needs on Debian 12, once. Everything is reported on stderr.

# apt_ensure PACKAGE... : install the packages that are not installed yet (PACKAGE:arm64
# adds dpkg's arm64 architecture first).
apt_ensure() {
  local p missing=()
  for p in "$@"; do
    [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) == ii* ]] || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [[ " ${missing[*]}" == *:arm64* ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
  fi
  printf 'installing with apt: %s\n' "${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# venv_ensure DIR REQUIREMENT... : a Python venv in DIR with exactly these pip requirements,
# made again only when they change.
venv_ensure() {
  local dir=$1
  shift
  [ "$(cat "$dir/.requirements" 2>/dev/null)" = "$*" ] && return 0
  printf 'installing %s into %s\n' "$*" "$dir" >&2
  rm -rf "$dir"
  if ! python3 -m venv "$dir" >&2 2>&1; then # Debian's python3 needs python3-venv for this
    rm -rf "$dir"
    apt_ensure python3-venv
    python3 -m venv "$dir" >&2
  fi
  "$dir/bin/pip" install -q --disable-pip-version-check "$@" >&2
  printf '%s\n' "$*" > "$dir/.requirements"
}
