#!/bin/sh
# archive_command without a Node start when the background pusher is ahead:
#   fsdr-archive.sh STATUS_DIR %p FALLBACK...       (print the line for a config: fsdr archive-command)
# Exits 0 only when STATUS_DIR holds a record (written by the pusher after the repository
# acknowledged the segment, see src/commands/wal-push/status-record.ts) whose file identity equals
# what stat says of %p now. Anything else, including any doubt, runs FALLBACK %p (the full
# `fsdr wal-push`), or fails when no fallback is given.
set -u
[ $# -ge 2 ] || { echo "usage: fsdr-archive.sh STATUS_DIR WAL_PATH [FALLBACK...]" >&2; exit 2; }
dir=$1
wal=$2
shift 2

fallback() {
  [ $# -gt 0 ] || { echo "fsdr-archive.sh: ${wal##*/} not confirmed and no fallback command given" >&2; exit 1; }
  exec "$@" "$wal"
}

confirmed() {
  name=${wal##*/}
  case $name in
    [0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F]) ;;
    *) return 1 ;;
  esac
  rec=$dir/$name
  [ -f "$rec" ] || return 1
  # One stat for both: the status directory (owner, mode) and the segment (identity).
  out=$(stat -L -c '%u %a %d %i %s %.9Y %.9Z' -- "$dir" "$wal" 2>/dev/null) || return 1
  {
    read -r downer dmode _ _ _ _ _
    read -r _ _ dev ino size mtime ctime
  } <<EOF
$out
EOF
  # Trust records only in a directory this user (or root) owns that no group or other can write,
  # as the Node side requires of the spool.
  uid=$(id -u)
  [ "$uid" = 0 ] || [ "$downer" = "$uid" ] || return 1
  case $dmode in *[2367]? | *[2367]) return 1 ;; esac
  read -r tag rdev rino rsize rmtime rctime rsha <"$rec" || return 1
  [ "$tag" = fsdr-archived-1 ] && [ -n "${rsha:-}" ] || return 1
  [ "$rdev $rino $rsize $rmtime $rctime" = "$dev $ino $size $mtime $ctime" ]
}

if confirmed; then exit 0; fi
fallback "$@"
