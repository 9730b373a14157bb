#!/usr/bin/env bash
# Install what Linde needs and is missing, then the project itself into .venv.
#   scripts/setup.sh          the service: SpatiaLite module, Python venv
#   scripts/setup.sh --test   also Chromium (PNG/PDF maps, browser tests), PostGIS for the local PostgreSQL (started if down) and
#                             GDAL's command-line tools (the tests use them as an OGC API client)
#   scripts/setup.sh --bench  the same, for the benchmarks
# Safe to run again: each step checks first and does nothing when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0; want_bench=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --bench) want_test=1; want_bench=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "setup.sh: need root (or sudo) to run: $*" >&2; exit 1
  fi
}

missing=()
need_deb() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || missing+=("$1"); }

need_deb libsqlite3-mod-spatialite
command -v python3 >/dev/null || need_deb python3
python3 -c 'import ensurepip, venv' 2>/dev/null || need_deb python3-venv

pg_version=""
if [ "$want_test" = 1 ]; then
  if [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    pg_version=$(ls /etc/postgresql | sort -V | tail -1)
  else
    need_deb postgresql
  fi
  need_deb "postgresql-${pg_version:-15}-postgis-3"
fi
[ "$want_test" = 1 ] && need_deb gdal-bin
# QGIS's Python bindings: the client-conformance tests open Linde's layers in QGIS, headless
[ "$want_test" = 1 ] && need_deb python3-qgis
# tests/test_pgbouncer.py starts its own PgBouncer in transaction mode; tests/test_workers.py
# shares rate limits between two workers through Redis (started below if down)
if [ "$want_test" = 1 ]; then need_deb pgbouncer; need_deb redis-server; fi
# PNG/PDF map export and the browser tests drive Debian's Chromium (never a downloaded
# browser); chromium-driver for WebDriver clients; poppler-utils to look at PDFs
if [ "$want_test" = 1 ]; then need_deb chromium; need_deb chromium-driver; need_deb poppler-utils; fi
[ "$want_bench" = 1 ] && need_deb wrk  # the load generator of bench/serve.py

if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "$want_test" = 1 ]; then
  pg_version=$(ls /etc/postgresql | sort -V | tail -1)
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    say "starting PostgreSQL $pg_version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
    say "starting Redis on 127.0.0.1:6379"
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save "" >/dev/null
  fi
  # The tests connect over TCP as LINDE_TEST_POSTGRES_URL (default: user postgres, no
  # password, as on a trust-auth development server). A stock Debian cluster asks for a
  # password on TCP, so there a superuser role for the tests is made once through the
  # local socket, and its URL remembered for scripts/test.
  url_file=.venv/.linde-test-postgres-url
  default_url="postgresql://postgres@127.0.0.1:5432/postgres"
  if ! psql "${LINDE_TEST_POSTGRES_URL:-$default_url}" -tAc 'select 1' >/dev/null 2>&1 \
     && ! { [ -f "$url_file" ] && psql "$(cat "$url_file")" -tAc 'select 1' >/dev/null 2>&1; }; then
    say "creating PostgreSQL role linde_test for the test suite"
    as_root runuser -u postgres -- psql -q -c \
      "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'linde_test') THEN
         CREATE ROLE linde_test LOGIN SUPERUSER PASSWORD 'linde_test'; END IF; END \$\$;"
    mkdir -p .venv
    echo "postgresql://linde_test:linde_test@127.0.0.1:5432/postgres" > "$url_file"
  fi
fi

python3 - <<'PY' || { echo "setup.sh: Linde needs Python 3.11 or newer" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.linde-installed
extras=$([ "$want_test" = 1 ] && echo "[dev]" || echo "")
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] \
   || { [ -n "$extras" ] && ! grep -qxF "$extras" "$stamp"; }; then
  say "installing Linde${extras} into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".${extras}"
  echo "${extras:-base}" >> "$stamp"
fi
