# Start and stop a throwaway PostgreSQL cluster on 127.0.0.1 for the tests.
# Sets MINDMOVE_TEST_PG_URL. PostgreSQL refuses to run as root, so the cluster belongs to
# the 'postgres' user created by the Debian package.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PG_DIR=${PG_DIR:-/tmp/mindmove-pg}
PG_PORT=${PG_PORT:-55432}

start_test_postgres() {
  rm -rf "$PG_DIR"; mkdir -p "$PG_DIR"; chown postgres "$PG_DIR"
  su postgres -s /bin/sh -c "$PG_BIN/initdb -D $PG_DIR/data -A trust -U postgres >/dev/null"
  su postgres -s /bin/sh -c "$PG_BIN/pg_ctl -D $PG_DIR/data -o '-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1' -l $PG_DIR/log -w start >/dev/null"
  su postgres -s /bin/sh -c "$PG_BIN/createdb -h 127.0.0.1 -p $PG_PORT mindmove_test"
  export MINDMOVE_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/mindmove_test"
}

stop_test_postgres() {
  su postgres -s /bin/sh -c "$PG_BIN/pg_ctl -D $PG_DIR/data -m fast stop >/dev/null" 2>/dev/null || true
}
