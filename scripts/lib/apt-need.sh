# Sourced by setup.sh and setup-tests.sh: apt_need WHO SERVICE... -- PKG...
# installs the Debian packages that are missing (as root), then stops the services the packages
# start on their own (fsdr's tests and demo start their own servers on free ports).
apt_need() {
  local who=$1; shift
  local services=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do services+=("$1"); shift; done
  shift
  local need=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "$who: missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  for s in "${services[@]}"; do (systemctl stop "$s" || service "$s" stop || true) >/dev/null 2>&1; done
}
