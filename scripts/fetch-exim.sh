#!/bin/sh
# Puts Debian's Exim 4.96 binary where the tests find it, without installing the exim4 packages
# (they conflict with postfix): downloads exim4-daemon-heavy and exim4-base with apt-get and
# unpacks them with dpkg-deb into a scratch root. The heavy daemon because only it has
# Content_Scanning (spamd_address, the spam= and malware= ACL conditions); exim4-daemon-light's
# `exim4 -bV` lists no Content_Scanning. Idempotent: does nothing when the binary is there
# and runs.
#
# `exim4 -bV` alone exits 1 here (no /etc/exim4/exim4.conf), so the check runs it with an empty
# configuration: `-C /dev/null -bV`.
#
# Usage: scripts/fetch-exim.sh [DIR]   (default $MAILWARD_EXIM_DIR, else /var/cache/mailward-exim)
# Result: DIR/root/usr/sbin/exim4. Tests read MAILWARD_EXIM_DIR or the same default.
# Needs root (apt-get install of the shared libraries the binary links, when missing).
set -eu

dir=${1:-${MAILWARD_EXIM_DIR:-/var/cache/mailward-exim}}
exim="$dir/root/usr/sbin/exim4"

# Libraries exim4-daemon-heavy links (its Depends, minus exim4-base and debconf). None conflicts
# with postfix. On the development machine only libidn12 was missing.
libraries="libc6 libcrypt1 libdb5.3 libgnutls-dane0 libgnutls30 libidn12 libidn2-0 libldap-2.5-0
libmariadb3 libnsl2 libpam0g libpcre2-8-0 libperl5.36 libpq5 libsasl2-2 libspf2-2 libsqlite3-0"

missing=""
for package in $libraries; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $package"
done
if [ -n "$missing" ]; then
  echo "fetch-exim: installing libraries:$missing"
  # shellcheck disable=SC2086
  apt-get install -y --no-install-recommends $missing >/dev/null || {
    apt-get update >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y --no-install-recommends $missing >/dev/null
  }
fi

# Debian's build of Exim looks up its compiled-in user "Debian-exim" at start, before it reads
# the configuration, and exits ("failed to find uid for user name") when the user is missing,
# even with exim_user set in the -C file. exim4-base's postinst would create it; we do not run
# that postinst, so create the same system user here.
if ! getent passwd Debian-exim >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /var/spool/exim4 --shell /usr/sbin/nologin Debian-exim
fi

if [ -x "$exim" ] && "$exim" -C /dev/null -bV >/dev/null 2>&1; then
  echo "fetch-exim: $exim is ready"
  exit 0
fi

mkdir -p "$dir/debs"
cd "$dir/debs"
# apt-get download writes into the current directory; as root it warns that _apt cannot write
# here (harmless). An empty package list (fresh machine) makes it fail: update once and retry.
apt-get download exim4-daemon-heavy exim4-base 2>/dev/null || {
  apt-get update >/dev/null
  apt-get download exim4-daemon-heavy exim4-base 2>/dev/null
}
rm -rf "$dir/root.new"
for deb in exim4-base_*.deb exim4-daemon-heavy_*.deb; do
  dpkg-deb -x "$deb" "$dir/root.new"
done
rm -rf "$dir/root"
mv "$dir/root.new" "$dir/root"

if ! "$exim" -C /dev/null -bV >/dev/null 2>&1; then
  echo "fetch-exim: $exim does not run:" >&2
  "$exim" -C /dev/null -bV >&2 || true
  ldd "$exim" | grep 'not found' >&2 || true
  exit 1
fi
echo "fetch-exim: $exim is ready ($("$exim" -C /dev/null -bV 2>/dev/null | sed -n 's/^Exim version \([^ ]*\).*/\1/p'))"
