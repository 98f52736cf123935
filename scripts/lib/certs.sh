# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# Certificates for management over TLS, made with openssl(1) the way
# docs/OPERATIONS.md ("Several VPN nodes") makes them: EC P-256 keys, a CA,
# and leaves it signs. Sourced by scripts/lab.sh (the lab's management link)
# and tests/replay/tls_certs.sh. Functions only; each works in the current
# folder and leaves NAME.pem and NAME.key (mode 0600) there.

# lc_cert_key FILE: a new EC P-256 private key.
lc_cert_key() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
    chmod 600 "$1"
}

# lc_cert_ca NAME CN [DAYS]: a self-signed CA (30 days by default).
lc_cert_ca() {
    lc_cert_key "$1.key"
    openssl req -x509 -new -key "$1.key" -sha256 -days "${3:-30}" -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem"
}

# lc_cert_leaf NAME CN CA USAGE [SAN] [DAYS]: a certificate signed by the CA
# CA.pem/CA.key, for USAGE (serverAuth or clientAuth), with the
# subjectAltName SAN (e.g. "IP:127.0.0.1,DNS:localhost") when given.
lc_cert_leaf() {
    lc_cert_key "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature"
        echo "extendedKeyUsage=$4"
        [ -z "${5:-}" ] || echo "subjectAltName=$5"
    } > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" \
        -CAcreateserial -days "${6:-30}" -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}
