# Start a throwaway PostgreSQL for the tests on a temp dir and a Unix socket; stop it on exit.
# Sourced by scripts/test. Exports PIPECAT_OPS_TEST_PG_URL when the server is up, and
# PIPECAT_OPS_TEST_PG_DATA (its data directory: the reliability suite restarts the server with
# pg_ctl). PIPECAT_OPS_TEST_PG_PORT picks another port (default 54329).

_pg_bin() {
  local found
  found=$(command -v initdb 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
  [ -n "$found" ] && dirname "$found"
}

start_test_postgres() {
  local bin dir port=${PIPECAT_OPS_TEST_PG_PORT:-54329} run_as=()
  bin=$(_pg_bin) || { echo "PostgreSQL not installed: PostgreSQL tests will be skipped" >&2; return 1; }
  dir=$(mktemp -d /tmp/pipecat-ops-pg.XXXXXX)
  if [ "$(id -u)" = "0" ]; then
    chown postgres: "$dir"
    run_as=(runuser -u postgres --)
  fi
  "${run_as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-k $dir -p $port -h '' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || { cat "$dir/server.log" >&2; return 1; }
  PG_TEST_DIR=$dir
  PG_TEST_BIN=$bin
  PG_RUN_AS=("${run_as[@]}")
  trap stop_test_postgres EXIT
  export PIPECAT_OPS_TEST_PG_URL="postgresql://postgres@/postgres?host=$dir&port=$port"
  export PIPECAT_OPS_TEST_PG_DATA="$dir/data"
  echo "PostgreSQL test server on $dir (port $port)"
}

stop_test_postgres() {
  [ -n "${PG_TEST_DIR:-}" ] || return 0
  "${PG_RUN_AS[@]}" "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_TEST_DIR"
}
