#!/usr/bin/env bash
# Refreshes the vendored Swagger UI assets from the npm package swagger-ui-dist (Apache-2.0).
# Only the files the embedded docs page needs are kept; the page loads nothing from elsewhere.
# To upgrade: bump SWAGGER_UI_DIST_VERSION (see `npm view swagger-ui-dist version`), run this
# script, then `go test ./third_party/swaggerui/`.
set -euo pipefail
cd "$(dirname "$0")"

SWAGGER_UI_DIST_VERSION=5.35.0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "swagger-ui-dist@${SWAGGER_UI_DIST_VERSION}" >/dev/null && tar xzf swagger-ui-dist-*.tgz)
rm -rf dist
mkdir -p dist
for f in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-32x32.png LICENSE NOTICE; do
  cp "$tmp/package/$f" dist/
done
echo "$SWAGGER_UI_DIST_VERSION" > dist/VERSION
chmod -R u+w,go-w dist
