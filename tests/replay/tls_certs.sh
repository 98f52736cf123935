#!/usr/bin/env bash
# Makes the certificates of the TLS tests in DIR, with openssl(1):
#   ca.pem ca.key              the CA linecapd trusts ([mgmt] tls_ca)
#   server.pem server.key      linecapd's, SAN IP 127.0.0.1 and DNS localhost
#   operator.pem operator.key  CN lc-operator
#   follower.pem follower.key  CN lc-follower
#   nobody.pem nobody.key      CN lc-nobody: our CA, but in neither list
#   other-ca.pem               another CA, and
#   stranger.pem stranger.key  CN lc-operator signed by it
# Keys are EC P-256: quick to make (scripts/lib/certs.sh). The same
# commands, for RSA or longer lives, are in docs/OPERATIONS.md ("Several VPN
# nodes").
set -euo pipefail
dir=${1:?usage: tls_certs.sh DIR}
# shellcheck source=SCRIPTDIR/../../scripts/lib/certs.sh
. "$(cd "$(dirname "$0")" && pwd)/../../scripts/lib/certs.sh"
mkdir -p "$dir"
cd "$dir"

lc_cert_ca ca "linecap test CA"
lc_cert_ca other-ca "another CA"
lc_cert_leaf server linecapd ca serverAuth "IP:127.0.0.1,DNS:localhost"
lc_cert_leaf operator lc-operator ca clientAuth
lc_cert_leaf follower lc-follower ca clientAuth
lc_cert_leaf nobody lc-nobody ca clientAuth
lc_cert_leaf stranger lc-operator other-ca clientAuth
