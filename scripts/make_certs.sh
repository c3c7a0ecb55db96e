#!/usr/bin/env bash
# Makes a private test CA (DIR/ca.pem, DIR/ca.key) and, per NAME (default: node), a CA-signed EC P-256 key and
# certificate (DIR/NAME.pem, DIR/NAME.key) for CAF's OpenSSL module in mutual TLS (serverAuth+clientAuth).
# Usage: scripts/make_certs.sh DIR [NAMES...]   (an existing DIR/ca.pem + ca.key is reused to sign NEW names only)
set -euo pipefail

die() { echo "make_certs.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: make_certs.sh DIR [NAMES...]"
command -v openssl >/dev/null || die "the openssl command is not installed"
dir=${1%/}
shift
[ $# -ge 1 ] || set -- node
for name in "$@"; do
  [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "bad name '$name' (letters, digits, . _ - only)"
  [ "$name" != ca ] || die "'ca' is reserved for the CA itself"
done

days=3650
umask 077
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -e "$dir/ca.pem" ]; then
  [ -e "$dir/ca.key" ] || die "$dir/ca.pem exists but $dir/ca.key does not; cannot sign with that CA"
  for name in "$@"; do
    if [ -e "$dir/$name.pem" ] || [ -e "$dir/$name.key" ]; then
      die "$dir/ca.pem and $dir/$name.pem already exist; refusing to overwrite (pass new names or use an empty DIR)"
    fi
  done
  echo "reusing CA $dir/ca.pem ($(openssl x509 -in "$dir/ca.pem" -noout -subject))"
else
  for name in "$@"; do
    if [ -e "$dir/$name.pem" ] || [ -e "$dir/$name.key" ]; then
      die "$dir/$name.pem or .key exists without a CA; refusing to overwrite"
    fi
  done
  cat > "$tmp/ca.ext" <<'EOF'
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ca.key" 2>/dev/null
  openssl req -new -key "$tmp/ca.key" -subj "/O=ELSA test/CN=ELSA test CA $(basename "$dir")-$(date +%s)" \
    -out "$tmp/ca.csr"
  openssl x509 -req -in "$tmp/ca.csr" -signkey "$tmp/ca.key" -days "$days" -sha256 \
    -set_serial "0x$(openssl rand -hex 15)" -extfile "$tmp/ca.ext" -out "$tmp/ca.pem" 2>/dev/null
  mv "$tmp/ca.key" "$dir/ca.key"
  mv "$tmp/ca.pem" "$dir/ca.pem"
  chmod 600 "$dir/ca.key"
  chmod 644 "$dir/ca.pem"
  echo "wrote $dir/ca.pem (CA certificate) and $dir/ca.key (CA private key, mode 600)"
fi

cat > "$tmp/leaf.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF
for name in "$@"; do
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/$name.key" 2>/dev/null
  openssl req -new -key "$tmp/$name.key" -subj "/O=ELSA test/CN=$name" -out "$tmp/$name.csr"
  openssl x509 -req -in "$tmp/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -days "$days" -sha256 \
    -set_serial "0x$(openssl rand -hex 15)" -extfile "$tmp/leaf.ext" -out "$tmp/$name.pem" 2>/dev/null
  openssl verify -CAfile "$dir/ca.pem" -purpose sslserver "$tmp/$name.pem" >/dev/null
  openssl verify -CAfile "$dir/ca.pem" -purpose sslclient "$tmp/$name.pem" >/dev/null
  mv "$tmp/$name.key" "$dir/$name.key"
  mv "$tmp/$name.pem" "$dir/$name.pem"
  chmod 600 "$dir/$name.key"
  chmod 644 "$dir/$name.pem"
  echo "wrote $dir/$name.pem (certificate for CN=$name) and $dir/$name.key (private key, mode 600)"
done
