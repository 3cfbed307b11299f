#!/usr/bin/env bash
# Refreshes the third-party .proto files the build imports. The Buf Schema Registry is out of
# reach, so they are vendored here from package registries that are:
#   google/api/*.proto            npm package google-proto-files (Apache-2.0)
#   protoc-gen-openapiv2/options  Go module github.com/grpc-ecosystem/grpc-gateway/v2 (BSD-3-Clause)
#   buf/validate/validate.proto   Go module github.com/bufbuild/protovalidate (Apache-2.0)
set -euo pipefail
cd "$(dirname "$0")"

GOOGLE_PROTO_FILES_VERSION=6.0.1
GRPC_GATEWAY_VERSION=v2.33.0
PROTOVALIDATE_VERSION=v1.2.2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "google-proto-files@${GOOGLE_PROTO_FILES_VERSION}" >/dev/null && tar xzf google-proto-files-*.tgz)
mkdir -p google/api
for f in annotations http field_behavior httpbody resource; do
  cp "$tmp/package/google/api/$f.proto" google/api/
done
cp "$tmp/package/LICENSE" google/LICENSE

gw=$(go mod download -json "github.com/grpc-ecosystem/grpc-gateway/v2@${GRPC_GATEWAY_VERSION}" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
mkdir -p protoc-gen-openapiv2/options
cp "$gw"/protoc-gen-openapiv2/options/{annotations,openapiv2}.proto protoc-gen-openapiv2/options/
cp "$gw/LICENSE" protoc-gen-openapiv2/LICENSE

pv=$(go mod download -json "github.com/bufbuild/protovalidate@${PROTOVALIDATE_VERSION}" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
mkdir -p buf/validate
cp "$pv/proto/protovalidate/buf/validate/validate.proto" buf/validate/
cp "$pv/LICENSE" buf/LICENSE
chmod -R u+w .
