#!/usr/bin/env bash
# Copies pinned front-end packages from npm into static/vendor/ (run by `make vendor`).
# The copies are committed: the app has no build step and never loads from a CDN.
# To add a package, add a line "package@version path/inside/package destination-file".
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  "htmx.org@2.0.11 dist/htmx.min.js htmx.min.js"
  "@panzoom/panzoom@4.6.2 dist/panzoom.min.js panzoom.min.js"
  "codemirror@5.65.21 lib/codemirror.js codemirror.js"
  "codemirror@5.65.21 lib/codemirror.css codemirror.css"
  "codemirror@5.65.21 mode/javascript/javascript.js codemirror-javascript.js"
)

dest=static/vendor
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for line in "${PACKAGES[@]}"; do
  read -r spec source target <<<"$line"
  echo "== $spec: $source -> $dest/$target"
  (cd "$work" && rm -rf package ./*.tgz && npm pack --silent "$spec" >/dev/null && tar -xzf ./*.tgz)
  cp "$work/package/$source" "$dest/$target"
done
