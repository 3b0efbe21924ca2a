#!/usr/bin/env bash
# The Debian packaging cannot drift from the tree (no root, no build:
# tests/package/t_install.sh builds and installs the package in CI):
# debian/control's Build-Depends are scripts/deps's "build" packages, the
# versions of debian/changelog, CMake, --version and both man pages agree,
# pcsim's man page has exactly the options of pcsim --help, every file of
# dist/ is installed by the package, and the maintainer scripts are sound.
source "$(dirname "$0")/lib.sh"
joined() { tr '\n' ' ' | sed 's/ $//'; }

# ---- Build-Depends = scripts/deps "build" ---------------------------------
sed -e 's/#.*//' "$SRC/scripts/deps" | awk '$2 == "build" {print $1}' | sort >"$TMP/deps.build"
awk '/^Build-Depends:/ {on = 1; sub(/^Build-Depends:/, "")}
     on && /^[A-Z][A-Za-z-]*:/ && !/^Build-Depends:/ {on = 0}
     on {print}' "$SRC/debian/control" | tr ',' '\n' | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' \
  | sed '/^$/d' >"$TMP/control.bd"
check "debhelper-compat" "$(grep -c '^debhelper-compat (= 13)$' "$TMP/control.bd")" 1
grep -v '^debhelper-compat' "$TMP/control.bd" | sed 's/[[:space:]].*//' | sort >"$TMP/control.build"
[ "$(wc -l <"$TMP/deps.build")" -ge 9 ] && ok || fail "scripts/deps lists only $(wc -l <"$TMP/deps.build") build packages"
check "Build-Depends missing from debian/control" \
  "$(comm -23 "$TMP/deps.build" "$TMP/control.build" | joined)" ""
check "Build-Depends not marked build in scripts/deps" \
  "$(comm -13 "$TMP/deps.build" "$TMP/control.build" | joined)" ""
check "Build-Depends without version constraints" \
  "$(grep -v '^debhelper-compat' "$TMP/control.bd" | grep -c '[(<[]')" 0
check "runtime Depends" \
  "$(grep -c '^Depends: .*\${misc:Depends}, \${shlibs:Depends}$' "$SRC/debian/control")" 2
check "binary packages" "$(sed -n 's/^Package: //p' "$SRC/debian/control" | joined)" \
  "qualreport qualreport-sim"
check "compat given once" "$([ -e "$SRC/debian/compat" ] && echo debian/compat)" ""

# ---- one version everywhere ---------------------------------------------
version=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
check "debian/changelog = CMake version" "$version" \
  "$(sed -n 's/^project(qualreport VERSION \([0-9.]*\) .*/\1/p' "$SRC/CMakeLists.txt")"
check "--version" "$("$QR" --version)" "qualreport $version"
for page in qualreport.1 pcsim.1; do
  check "$page version" "$(sed -n 's/^\.TH [A-Z]* 1 [0-9-]* "\([^"]*\)".*/\1/p' "$SRC/$page")" \
    "qualreport $version"
done
check "source format" "$(cat "$SRC/debian/source/format")" "3.0 (native)"

# ---- pcsim(1) = pcsim --help --------------------------------------------
"$PCSIM" --help | grep -oE -- '--[a-z]([a-z-]*[a-z])?' | sort -u >"$TMP/pcsim.help"
awk '/^\.TP/ {getline; print}' "$SRC/pcsim.1" | sed 's/\\-/-/g' \
  | grep -oE -- '--[a-z]([a-z-]*[a-z])?' | sort -u >"$TMP/pcsim.man"
[ "$(wc -l <"$TMP/pcsim.help")" -ge 15 ] && ok || fail "pcsim --help lists $(wc -l <"$TMP/pcsim.help") options"
check "pcsim options without a man page entry" "$(comm -23 "$TMP/pcsim.help" "$TMP/pcsim.man" | joined)" ""
check "pcsim man page entries for no option" "$(comm -13 "$TMP/pcsim.help" "$TMP/pcsim.man" | joined)" ""
if command -v groff >/dev/null; then
  check "pcsim.1 groff warnings" "$(groff -man -Tutf8 -ww -z "$SRC/pcsim.1" 2>&1)" ""
fi

# ---- dist/ is shipped ------------------------------------------------------
(cd "$SRC" && find dist -type f | sort) >"$TMP/dist.files"
cat "$SRC"/debian/*.install | awk '$1 ~ /^dist\// {print $1}' | sort >"$TMP/dist.installed"
# the completion goes through cmake --install (usr/share/bash-completion)
grep -q '^usr/share/bash-completion/completions/qualreport$' "$SRC/debian/qualreport.install" \
  && grep -q 'dist/bash-completion/qualreport' "$SRC/CMakeLists.txt" \
  && echo dist/bash-completion/qualreport >>"$TMP/dist.installed"
check "dist/ files the package does not install" \
  "$(sort -u "$TMP/dist.installed" | comm -23 "$TMP/dist.files" - | joined)" ""

# ---- maintainer scripts -----------------------------------------------------
for s in "$SRC"/debian/*.postinst "$SRC"/debian/*.postrm "$SRC"/debian/*.prerm; do
  name=${s#"$SRC/"}
  sh -n "$s" && ok || fail "$name: syntax"
  check "$name #DEBHELPER#" "$(grep -c '^#DEBHELPER#$' "$s")" 1
  check "$name set -e" "$(grep -c '^set -e$' "$s")" 1
done
check "units not enabled or started" \
  "$(grep -c 'dh_installsystemd --no-enable --no-start --no-stop-on-upgrade$' "$SRC/debian/rules")" 1
check "no test run in the package build" "$(grep -c '^override_dh_auto_test:$' "$SRC/debian/rules")" 1
finish
