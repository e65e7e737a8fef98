#!/usr/bin/env bash
# Checks that every vendored crate under patches/ is exactly the published crate plus its
# .patch file, so nothing changes here without showing up in a reviewed diff.
# Downloads the published .crate files from crates.io.
# Usage: bash patches/verify.sh            check every crate
#        bash patches/verify.sh --write    rewrite each .patch from its vendored crate (after an edit)
set -euo pipefail
cd "$(dirname "$0")"
VERSION=0.30.1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
write=${1:-}
crates=()
for d in */; do [ -f "$d/Cargo.toml" ] && crates+=("${d%/}"); done
for crate in "${crates[@]}"; do
  patch=$crate.patch
  curl -fsSL "https://static.crates.io/crates/$crate/$crate-$VERSION.crate" -o "$work/$crate.crate"
  mkdir -p "$work/$crate"
  tar -xzf "$work/$crate.crate" -C "$work/$crate" --strip-components=1
  rm -f "$work/$crate/Cargo.lock" "$work/$crate/.cargo-ok"
  if [ "$write" = "--write" ]; then
    mkdir -p "$work/w/a" "$work/w/b"
    rm -rf "$work/w/a/"* "$work/w/b/"*
    cp -r "$work/$crate/." "$work/w/a/"
    cp -r "$crate/." "$work/w/b/"
    (cd "$work/w" && diff -ruN a b > "$OLDPWD/$patch") || true
    echo "wrote $patch ($(grep -c '^[-+][^-+]' "$patch") changed lines)"
    continue
  fi
  [ -f "$patch" ] || { echo "MISSING: $patch"; status=1; continue; }
  (cd "$work/$crate" && patch -s -p1 < "$OLDPWD/$patch")
  if diff -r -q "$work/$crate" "$crate" > "$work/$crate.diff"; then
    echo "ok: $crate = $crate $VERSION + $patch"
  else
    echo "MISMATCH: $crate differs from $crate $VERSION + $patch:"; cat "$work/$crate.diff"
    status=1
  fi
done
exit $status
