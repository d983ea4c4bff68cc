#!/bin/sh
# PostgreSQL in the fsdr image (the Helm chart's postgres container): initdb on the first start,
# then the server with WAL archiving through fsdr. Extra "-c name=value" arguments pass through.
set -eu
: "${PGDATA:?PGDATA must name the data directory}"
BIN=/usr/lib/postgresql/15/bin
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pw=$(mktemp)
  printf '%s\n' "${PGPASSWORD:?PGPASSWORD must hold the postgres password}" > "$pw"
  # data checksums: fsdr check wants them (or wal_log_hints) so a failed-over primary can rejoin
  "$BIN/initdb" -D "$PGDATA" -U postgres --pwfile="$pw" --auth-local=peer --auth-host=scram-sha-256 --data-checksums
  rm -f "$pw"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
fi
exec "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*' -c wal_level=replica -c archive_mode=on \
  -c "archive_command=fsdr wal-push %p" "$@"
