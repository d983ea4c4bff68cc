#!/bin/sh
# restore_command without a Node start when the background prefetcher is ahead:
#   fsdr-fetch.sh IN_DIR %f %p FALLBACK...
# Hands PostgreSQL IN_DIR/%f when the prefetcher (fsdr archive-get-async) left it there: it is
# renamed into the spool only after it was decrypted, authenticated against its object name and
# its first page header checked against its name and the cluster (src/commands/wal-fetch/
# prefetch.ts). Anything else — no such file, a history file, a directory this user does not own
# or others can write — runs FALLBACK %f %p (the full `fsdr wal-fetch`, which also restarts the
# prefetcher), so a miss costs what it cost before and never a wrong file.
set -u
[ $# -ge 3 ] || { echo "usage: fsdr-fetch.sh IN_DIR WAL_NAME WAL_PATH [FALLBACK...]" >&2; exit 2; }
dir=$1
name=$2
dest=$3
shift 3

fallback() {
  [ $# -gt 0 ] || exit 1
  exec "$@" "$name" "$dest"
}

ready() {
  case $name in
    [0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F]) ;;
    *) return 1 ;;
  esac
  [ -f "$dir/$name" ] || return 1
  out=$(stat -L -c '%u %a' -- "$dir" 2>/dev/null) || return 1
  set -- $out
  uid=$(id -u)
  [ "$uid" = 0 ] || [ "$1" = "$uid" ] || return 1
  case $2 in *[2367]? | *[2367]) return 1 ;; esac
  # A rename within one filesystem is atomic: PostgreSQL sees the whole file or none.
  mv -f -- "$dir/$name" "$dest" 2>/dev/null
}

if ready; then exit 0; fi
fallback "$@"
