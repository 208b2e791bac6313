#!/usr/bin/env bash
# Builds the two images the deploy tests run (no registry is reachable, so nothing is
# pulled): `escala-test/busybox:1` from Debian's busybox-static, and `escala-test/data:1`,
# a debootstrap of Debian bookworm with postgresql-15 and redis-server. Each image carries
# the SHA-256 of this file as the label `escala.recipe`; an image whose label matches is
# reused, so the slow debootstrap runs once per machine (and again when this file changes).
# Needs root (debootstrap), a running Docker engine, and Debian's package mirror.
set -euo pipefail
recipe=$(sha256sum "$0" | cut -c1-16)
mirror=${ESCALA_DEBIAN_MIRROR:-http://deb.debian.org/debian}

current() { [ "$(docker image inspect -f '{{index .Config.Labels "escala.recipe"}}' "$1" 2>/dev/null)" = "$recipe" ]; }
work=$(mktemp -d /tmp/escala-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

image_from() { # <rootfs> <tag> <docker import -c changes…>
  local root=$1 tag=$2; shift 2
  local changes=(-c "LABEL escala.recipe=$recipe")
  for c in "$@"; do changes+=(-c "$c"); done
  tar -C "$root" --numeric-owner --sort=name --mtime=@0 -c . | docker import "${changes[@]}" - "$tag" >/dev/null
  echo "built $tag"
}

if current escala-test/busybox:1; then
  echo "escala-test/busybox:1 is current"
else
  dpkg -s busybox-static >/dev/null 2>&1 || { echo "install Debian's busybox-static"; exit 1; }
  bb=/bin/busybox
  root="$work/busybox"
  mkdir -p "$root"/{bin,etc,tmp,home/app,root}
  cp "$bb" "$root/bin/busybox"
  for applet in $("$bb" --list); do [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"; done
  printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
  chmod 1777 "$root/tmp"
  chown -R 1000:1000 "$root/home/app"
  image_from "$root" escala-test/busybox:1 'ENV PATH=/bin' 'CMD ["/bin/sh"]'
fi

if current escala-test/data:1; then
  echo "escala-test/data:1 is current"
else
  root="$work/data"
  debootstrap --variant=minbase --include=postgresql-15,redis-server bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log"; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/lib/postgresql/15
  # The official postgres image's contract, cut to what the tests use: POSTGRES_PASSWORD_FILE
  # (or POSTGRES_PASSWORD) sets the superuser's password on an empty data directory, password
  # authentication (SCRAM) everywhere, listening on every address. Anything else is exec'd.
  cat >"$root/usr/local/bin/entrypoint" <<'SH'
#!/bin/sh
set -eu
if [ "${1:-}" != postgres ]; then exec "$@"; fi
data=${PGDATA:-/var/lib/postgresql/data}
bin=/usr/lib/postgresql/15/bin
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$data" /run/postgresql
chown postgres:postgres "$data" /run/postgresql
chmod 700 "$data"
if [ ! -s "$data/PG_VERSION" ]; then
  if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then password=$(cat "$POSTGRES_PASSWORD_FILE"); else password=${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD_FILE or POSTGRES_PASSWORD}; fi
  pwfile=$(mktemp)
  printf '%s\n' "$password" >"$pwfile"
  chown postgres "$pwfile"
  as_postgres "$bin/initdb" -D "$data" -U postgres --pwfile="$pwfile" -A scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$data/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$data/postgresql.conf"
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$data"
SH
  chmod 755 "$root/usr/local/bin/entrypoint"
  image_from "$root" escala-test/data:1 \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV LANG=C.UTF-8' \
    'ENTRYPOINT ["/usr/local/bin/entrypoint"]' 'CMD ["postgres"]'
fi
