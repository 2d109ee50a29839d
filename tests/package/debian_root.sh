# Sourced by the package test: a clean Debian 12 root that boots with systemd-nspawn, with Redis
# and RabbitMQ (the package's Recommends) installed as an operator would. debootstrap's root is
# made once and kept as a tarball in the cache (LAMBDA_CACHE_DIR, ~/.cache/lambda), keyed by
# what it holds; each run unpacks a fresh copy.
DEBIAN_ROOT_PACKAGES="systemd,systemd-sysv,dbus,ca-certificates,redis-server,rabbitmq-server"
DEBIAN_MIRROR="${LAMBDA_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CACHE="${LAMBDA_CACHE_DIR:-$HOME/.cache/lambda}"

# debian_root_tarball: prints the cached tarball's path, making it first if needed.
debian_root_tarball() {
  local key tar tmp
  key="$(printf '%s %s' "$DEBIAN_ROOT_PACKAGES" "$DEBIAN_MIRROR" | sha256sum | cut -c1-12)"
  tar="$CACHE/debian12-root-$key.tar"
  if [ ! -s "$tar" ]; then
    mkdir -p "$CACHE"
    tmp="$(mktemp -d /var/tmp/lambda-debootstrap.XXXXXX)"
    chmod 0755 "$tmp"  # the root directory of the root
    echo "making a Debian 12 root with debootstrap (once; kept in $tar)" >&2
    debootstrap --variant=minbase --include="$DEBIAN_ROOT_PACKAGES" bookworm "$tmp" "$DEBIAN_MIRROR" \
      >"$CACHE/debootstrap.log" 2>&1 || { tail -20 "$CACHE/debootstrap.log" >&2; rm -rf "$tmp"; return 1; }
    cat >"$tmp/etc/apt/sources.list" <<SRC
deb $DEBIAN_MIRROR bookworm main
deb $DEBIAN_MIRROR bookworm-updates main
deb http://security.debian.org/debian-security bookworm-security main
SRC
    # The servers start when the test starts them (not at boot), each on its default port.
    rm -f "$tmp"/etc/systemd/system/multi-user.target.wants/{redis-server,rabbitmq-server}.service
    rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*_Packages
    tar -C "$tmp" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$tmp"
  fi
  echo "$tar"
}
