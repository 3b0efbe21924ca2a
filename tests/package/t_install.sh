#!/usr/bin/env bash
# The Debian packages in a clean Debian 12 root: build them with
# scripts/package (lintian included), make a fresh root with
# `debootstrap --variant=minbase bookworm`, install both .debs there with
# apt-get (dependencies from the mirror), and check what a user gets: the
# binaries run, the man pages read with man, the units are in
# /lib/systemd/system and not enabled, the example config is a conffile at
# /etc/qualreport/qualreport.conf, the qualreport system user exists, and
# a run of the installed qualreport as that user, with the installed
# config, against the installed pcsim inside the root writes the reports
# and metrics a Prometheus parser accepts. Purge removes the state and the
# config, and keeps the user.
#
# Needs root (debootstrap, chroot, mount) and the network to the Debian
# mirror; takes minutes, so it is a stage of scripts/test, not a CTest
# test. Environment: DEBIAN_MIRROR (default: the first deb.debian.org-like
# URI of this machine's apt sources), KEEP_ROOT=1 keeps the root for a look.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PASSES=0 FAILS=0
ok() { PASSES=$((PASSES + 1)); }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
check() { if [ "$2" == "$3" ]; then ok; else fail "$1: got '$2', want '$3'"; fi; }
die() { echo "t_install: $*" >&2; exit 1; }
step_start=$SECONDS
step() {
  echo "t_install: $1 ($((SECONDS - step_start)) s so far)"
}

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mount)"
for tool in debootstrap chroot mount systemctl; do
  command -v "$tool" >/dev/null || die "$tool is missing (run scripts/bootstrap)"
done
mirror=${DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' \
  /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}

ROOT=$(mktemp -d /var/tmp/qr-install-root.XXXXXX)
chmod 755 "$ROOT" # it becomes /, which the qualreport user must traverse
PCSIM_PID=
cleanup() {
  [ -n "$PCSIM_PID" ] && kill "$PCSIM_PID" 2>/dev/null && wait "$PCSIM_PID" 2>/dev/null
  # deepest first; lazily, so that a busy mount cannot keep the rest
  for m in $(awk -v r="$ROOT" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$m" || echo "t_install: cannot unmount $m" >&2
  done
  if awk -v r="$ROOT" '$2 == r || index($2, r "/") == 1 {found = 1} END {exit !found}' /proc/mounts; then
    echo "t_install: $ROOT still has mounts: not removing it" >&2
  elif [ "${KEEP_ROOT:-0}" = 1 ]; then
    echo "t_install: root kept at $ROOT"
  else
    rm -rf --one-file-system "$ROOT"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
in_root() { chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

# ---- 1. the packages -----------------------------------------------------
step "building the packages (scripts/package)"
t0=$SECONDS
# its output (lintian's included) goes to the log; its last line is the
# directory of the packages
PACKAGE_OUT="$SRC/out/package" "$SRC/scripts/package" >"$ROOT.package.log" 2>&1
rc=$?
sed 's/^/  /' "$ROOT.package.log"
pkgdir=$(tail -n 1 "$ROOT.package.log")
rm -f "$ROOT.package.log"
[ "$rc" = 0 ] || die "scripts/package failed"
t_package=$((SECONDS - t0))
version=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
debs=("$pkgdir/qualreport_${version}_$arch.deb" "$pkgdir/qualreport-sim_${version}_$arch.deb")
for d in "${debs[@]}"; do [ -f "$d" ] || die "no $d"; done

# ---- 2. a fresh Debian 12 root -----------------------------------------------
step "debootstrap --variant=minbase bookworm from $mirror"
t0=$SECONDS
debootstrap --variant=minbase bookworm "$ROOT" "$mirror" >"$ROOT.debootstrap.log" 2>&1 \
  || { tail -n 20 "$ROOT.debootstrap.log"; rm -f "$ROOT.debootstrap.log"; die "debootstrap failed"; }
rm -f "$ROOT.debootstrap.log"
t_debootstrap=$((SECONDS - t0))
mount -t proc proc "$ROOT/proc" || die "cannot mount proc"
mount --bind /dev "$ROOT/dev" || die "cannot bind /dev"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# Nothing the install pulls in may start a service on this machine.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
check "fresh root: no qualreport yet" "$(in_root sh -c 'command -v qualreport')" ""

# ---- 3. apt-get install ./qualreport_*.deb ./qualreport-sim_*.deb ------------------
# systemd, so that systemd-analyze can verify the units against the
# root's own targets; man-db for man(1).
step "apt-get install of both packages (with man-db and systemd) in the root"
t0=$SECONDS
mkdir -p "$ROOT/tmp/pkg"
cp "${debs[@]}" "$ROOT/tmp/pkg/"
in_root apt-get update -q >"$ROOT/tmp/apt.log" 2>&1 || { cat "$ROOT/tmp/apt.log"; die "apt-get update failed"; }
if in_root sh -c 'cd /tmp/pkg && apt-get install -y -q ./qualreport_*.deb ./qualreport-sim_*.deb man-db systemd' \
    >>"$ROOT/tmp/apt.log" 2>&1; then ok; else
  tail -n 30 "$ROOT/tmp/apt.log"; fail "apt-get install"; fi
t_apt=$((SECONDS - t0))
check "installed" "$(in_root dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\n' qualreport qualreport-sim)" \
"qualreport $version ii 
qualreport-sim $version ii "
check "Recommends: ca-certificates came along" \
  "$(in_root dpkg-query -W -f='${db:Status-Abbrev}' ca-certificates 2>/dev/null)" "ii "

step "checks"
# ---- the binaries and the man pages ----------------------------------------
check "qualreport --version" "$(in_root qualreport --version)" "qualreport $version"
check "which qualreport" "$(in_root sh -c 'command -v qualreport')" /usr/bin/qualreport
check "pcsim --help" "$(in_root pcsim --help | head -n 1)" "usage: pcsim [OPTIONS]"
check "man qualreport" "$(in_root env MANWIDTH=80 man -P cat qualreport 2>&1 | grep -A1 '^NAME' | tail -n 1)" \
  "       qualreport - report the Partner Center special-offer qualifications of"
check "man pcsim" "$(in_root env MANWIDTH=80 man -P cat pcsim 2>&1 | grep -A1 '^NAME' | tail -n 1)" \
  "       pcsim - a local simulator of the Partner Center qualifications API"
check "man page: --metrics" "$(in_root env MANWIDTH=80 man -P cat qualreport 2>/dev/null | grep -c -- '--metrics=path')" 1
[ -f "$ROOT/usr/share/bash-completion/completions/qualreport" ] && ok || fail "no bash completion"

# ---- the units: in place, not enabled, valid ---------------------------------------
for u in qualreport.service qualreport.timer; do
  [ -f "$ROOT/lib/systemd/system/$u" ] && ok || fail "/lib/systemd/system/$u missing"
  cmp -s "$ROOT/lib/systemd/system/$u" "$SRC/dist/systemd/$u" && ok || fail "$u differs from dist/systemd/$u"
done
check "timer not enabled" "$(systemctl --root="$ROOT" is-enabled qualreport.timer 2>&1)" disabled
check "service only started by the timer" "$(systemctl --root="$ROOT" is-enabled qualreport.service 2>&1)" static
check "no unit symlink anywhere in /etc/systemd" \
  "$(find "$ROOT/etc/systemd" -name 'qualreport*' 2>/dev/null | wc -l)" 0
if verify=$(systemd-analyze verify --root="$ROOT" --man=no qualreport.service qualreport.timer 2>&1); then ok
else fail "systemd-analyze verify: $verify"; fi
check "systemd-analyze verify says nothing" "$verify" ""

# ---- the example config, a conffile ---------------------------------------------
cmp -s "$ROOT/etc/qualreport/qualreport.conf" "$SRC/dist/qualreport.conf" && ok \
  || fail "/etc/qualreport/qualreport.conf is not dist/qualreport.conf"
check "conffile" "$(in_root dpkg-query -W -f='${Conffiles}' qualreport | awk '{print $1}' | sed '/^$/d')" \
  /etc/qualreport/qualreport.conf
check "config mode" "$(stat -c '%a %U' "$ROOT/etc/qualreport/qualreport.conf")" "644 root"

# ---- the system user ------------------------------------------------------------------
IFS=: read -r _ _ uid _ _ home shell <<<"$(in_root getent passwd qualreport)"
[ -n "$uid" ] && [ "$uid" -lt 1000 ] && ok || fail "qualreport is not a system user (uid '$uid')"
check "home" "$home" /var/lib/qualreport
check "shell" "$shell" /usr/sbin/nologin
check "group" "$(in_root id -gn qualreport)" qualreport
check "state directory" "$(in_root stat -c '%a %U:%G' /var/lib/qualreport /var/lib/qualreport/reports | tr '\n' ' ')" \
  "750 qualreport:qualreport 750 qualreport:qualreport "

# ---- a run: the installed tools, the installed config, as the qualreport user ------------
A=bbbbbbbb-0000-4000-8000-000000000001
B=bbbbbbbb-0000-4000-8000-000000000002
C=bbbbbbbb-0000-4000-8000-000000000003
mkdir -p "$ROOT/tmp/run"
cat >"$ROOT/tmp/run/data.json" <<JSON
{"$C": {"status": 404, "body": {"code": 60003, "description": "Tenant not found"}}}
JSON
printf 'Customer,Microsoft ID\nA,%s\nB,%s\nC,%s\nD,not-an-id\n' "$A" "$B" "$C" \
  >"$ROOT/var/lib/qualreport/customers.csv"
chroot "$ROOT" /usr/bin/pcsim --port 0 --token install-token --seed 6 \
  --data /tmp/run/data.json >"$ROOT/tmp/run/pcsim.out" 2>"$ROOT/tmp/run/pcsim.err" &
PCSIM_PID=$!
for _ in $(seq 1 100); do
  url=$(head -n 1 "$ROOT/tmp/run/pcsim.out" 2>/dev/null)
  [[ "$url" == http://127.0.0.1:* ]] && break
  sleep 0.05
done
[[ "$url" == http://127.0.0.1:* ]] || die "pcsim did not start in the root: $(cat "$ROOT/tmp/run/pcsim.err")"
chroot --userspec=qualreport:qualreport "$ROOT" env -i PATH=/usr/bin:/bin \
  PARTNER_CENTER_TOKEN=install-token \
  /usr/bin/qualreport --config /etc/qualreport/qualreport.conf \
  --base-url "$url" --metrics /var/lib/qualreport/qualreport.prom \
  /var/lib/qualreport/customers.csv 2>"$ROOT/tmp/run/qr.err"
rc=$?
check "the run's exit status" "$rc" 0
[ "$rc" = 0 ] || cat "$ROOT/tmp/run/qr.err"
month=$(date +%Y-%m)
r=$ROOT/var/lib/qualreport/reports/$month
check "tenants in the detail" "$(zcat "$r-qualifications.ndjson.gz" | jq -r .tenant_id | sort -u | tr '\n' ' ')" "$A $B $C "
check "the NotFound row" "$(zcat "$r-qualifications.ndjson.gz" | jq -r "select(.tenant_id == \"$C\") | .vetting_status")" NotFound
check "rejects" "$(tail -n +2 "$r-rejects.csv")" "5,not-an-id,not a GUID"
check "summary NotFound" "$(grep -c '^,NotFound,1$' "$r-summary.csv")" 1
check "manifest" "$(jq -c '[.exit_code, .counts.valid, .counts.invalid]' "$r-qualifications.ndjson.gz.manifest.json")" "[0,3,1]"
check "reports owned by the user" "$(in_root stat -c %U "/var/lib/qualreport/reports/$month-summary.csv")" qualreport
[ -f "$ROOT/var/lib/qualreport/$month.journal" ] && ok || fail "no journal"
check "log lines: JSON, as configured" "$(jq -r .level "$ROOT/tmp/run/qr.err" 2>&1 | sort -u | tr '\n' ' ')" "info "
/usr/bin/python3 "$SRC/tests/metrics/validate.py" "$ROOT/var/lib/qualreport/qualreport.prom" \
  qualreport_exit_code=0 'qualreport_tenants{status="answered"}=2' \
  'qualreport_tenants{status="not_found"}=1' 'qualreport_requests_total{code="200"}=2' \
  'qualreport_requests_total{code="404"}=1' && ok || fail "metrics of the installed run"
kill "$PCSIM_PID"; wait "$PCSIM_PID" 2>/dev/null; PCSIM_PID=

# ---- purge -------------------------------------------------------------------------------------
in_root apt-get purge -y -q qualreport qualreport-sim >>"$ROOT/tmp/apt.log" 2>&1 && ok || fail "apt-get purge"
[ -e "$ROOT/usr/bin/qualreport" ] && fail "qualreport still installed" || ok
[ -e "$ROOT/var/lib/qualreport" ] && fail "purge left /var/lib/qualreport" || ok
[ -e "$ROOT/etc/qualreport/qualreport.conf" ] && fail "purge left the config" || ok
[ -e "$ROOT/lib/systemd/system/qualreport.timer" ] && fail "purge left the timer" || ok
check "the user stays" "$(in_root getent passwd qualreport | cut -d: -f1)" qualreport

echo "t_install: package $t_package s, debootstrap $t_debootstrap s, apt-get install $t_apt s, all $((SECONDS - step_start)) s"
echo "$PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
