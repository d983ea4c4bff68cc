#!/bin/sh
# restore_command without a Node start while the background prefetcher runs:
#   fsdr-fetch.sh [-w SECONDS] IN_DIR %f %p FALLBACK...
# Hands PostgreSQL IN_DIR/%f when the prefetcher (fsdr archive-get-async) left it there: it is
# renamed into the spool only after it was decrypted, authenticated against its object name and
# (a segment) its first page header checked against its name and the cluster
# (src/commands/wal-fetch/prefetch.ts), and only while IN_DIR/boot names this boot (or says
# "durable"). While the prefetcher lives (its pid in IN_DIR/prefetcher.pid) and -w is given, a file
# that is not there yet is asked of it (IN_DIR/%f.want.$$) and waited for up to SECONDS: it answers
# with the file, with %f.absent.$$ (not in the repository: exit 1, as wal-fetch would) or with
# %f.fallback.$$ (src/commands/wal-fetch/prefetch-spool.ts). Anything else — no prefetcher, a
# fallback answer, no answer in time, a directory this user does not own or others can write —
# runs FALLBACK %f %p (the full `fsdr wal-fetch`, which also restarts the prefetcher), so a miss
# costs what it cost before and never a wrong file.
set -u
wait_s=0
if [ "${1:-}" = -w ]; then
  [ $# -ge 2 ] || { echo "fsdr-fetch.sh: -w needs a number of seconds" >&2; exit 2; }
  case $2 in ''|*[!0-9]*) echo "fsdr-fetch.sh: -w needs a number of seconds, got '$2'" >&2; exit 2 ;; esac
  wait_s=$2
  shift 2
fi
[ $# -ge 3 ] || { echo "usage: fsdr-fetch.sh [-w SECONDS] IN_DIR WAL_NAME WAL_PATH [FALLBACK...]" >&2; exit 2; }
dir=$1
name=$2
dest=$3
shift 3

fallback() {
  [ $# -gt 0 ] || exit 1
  exec "$@" "$name" "$dest"
}

trusted() {
  case $name in
    [0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F]) ;;
    [0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F].history) ;;
    *) return 1 ;;
  esac
  # Owned by this user (test -O, a shell builtin: each exec here costs PostgreSQL's replay a few
  # milliseconds per segment) and writable by no group or other user (stat: the one exec left).
  [ -O "$dir" ] || return 1
  mode=$(stat -L -c '%a' -- "$dir" 2>/dev/null) || return 1
  case $mode in *[2367]? | *[2367]) return 1 ;; esac
  # The prefetcher writes its files without fsync and marks the spool with the boot they are
  # good for (or "durable"): after a power cut a file may carry its name without its data.
  { read -r marker < "$dir/boot"; } 2>/dev/null || return 1
  [ "$marker" = durable ] && return 0
  { read -r boot < /proc/sys/kernel/random/boot_id; } 2>/dev/null || return 1
  [ -n "$marker" ] && [ "$marker" = "$boot" ]
}

want=$dir/$name.want.$$
absent=$dir/$name.absent.$$
other=$dir/$name.fallback.$$

ready() {
  [ -f "$dir/$name" ] || return 1
  [ ! -e "$want" ] || rm -f -- "$want"
  # A rename within one filesystem is atomic: PostgreSQL sees the whole file or none.
  mv -f -- "$dir/$name" "$dest" 2>/dev/null
}

alive() {
  { read -r pid < "$dir/prefetcher.pid"; } 2>/dev/null || return 1
  case $pid in ''|*[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null
}

if trusted; then
  ready && exit 0
  if [ "$wait_s" -gt 0 ] && alive; then
    # Answers left under this pid by an earlier call are not answers to this one.
    rm -f -- "$absent" "$other"
    : > "$want" 2>/dev/null || { fallback "$@"; }
    n=$((wait_s * 50))
    while [ "$n" -gt 0 ] && alive; do
      ready && exit 0
      if [ -e "$absent" ]; then rm -f -- "$absent" "$want"; exit 1; fi
      [ -e "$other" ] && break
      sleep 0.02 2>/dev/null || sleep 1
      n=$((n - 1))
    done
    ready && exit 0
    rm -f -- "$want" "$absent" "$other"
  fi
fi
fallback "$@"
