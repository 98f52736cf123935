#!/usr/bin/env bash
# Makes the certificates of the TLS tests in DIR, with openssl(1):
#   ca.pem ca.key              the CA linecapd trusts ([mgmt] tls_ca)
#   server.pem server.key      linecapd's, SAN IP 127.0.0.1 and DNS localhost
#   operator.pem operator.key  CN lc-operator
#   follower.pem follower.key  CN lc-follower
#   nobody.pem nobody.key      CN lc-nobody: our CA, but in neither list
#   other-ca.pem               another CA, and
#   stranger.pem stranger.key  CN lc-operator signed by it
# Keys are EC P-256: quick to make. The same commands, for RSA or longer
# lives, are in docs/OPERATIONS.md ("Several VPN nodes").
set -euo pipefail
dir=${1:?usage: tls_certs.sh DIR}
mkdir -p "$dir"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() { # NAME CN
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -sha256 -days 30 -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem"
}

leaf() { # NAME CN CA USAGE [SAN]
    key "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature"
        echo "extendedKeyUsage=$4"
        [ -n "${5:-}" ] && echo "subjectAltName=$5"
    } > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" \
        -CAcreateserial -days 30 -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

ca ca "linecap test CA"
ca other-ca "another CA"
leaf server linecapd ca serverAuth "IP:127.0.0.1,DNS:localhost"
leaf operator lc-operator ca clientAuth
leaf follower lc-follower ca clientAuth
leaf nobody lc-nobody ca clientAuth
leaf stranger lc-operator other-ca clientAuth
chmod 600 ./*.key
