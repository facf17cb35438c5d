#!/bin/sh
# The secrets compose hands to the services, as files in deploy/secrets/ (never committed; or in
# the directory given as the first argument):
# a random JWT key and a random Ed25519 voucher signing seed. Existing files are kept, so
# running it again never changes a key that signed vouchers. Kubernetes takes the same values
# from Secrets (deploy/README.md).
set -eu
dir="${1:-$(dirname "$0")/secrets}"
mkdir -p "$dir"
umask 077
random_base64() { python3 -c "import base64, os, sys; print(base64.b64encode(os.urandom(int(sys.argv[1]))).decode())" "$1"; }
[ -s "$dir/shebao_jwt_secret" ] || random_base64 48 > "$dir/shebao_jwt_secret"
[ -s "$dir/shebao_voucher_signing_key" ] || random_base64 32 > "$dir/shebao_voucher_signing_key"
echo "secrets in $dir: $(ls "$dir" | tr '\n' ' ')"
