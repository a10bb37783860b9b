#!/bin/sh
# Makes a private CA and a server certificate for mosquitto's TLS listener (8883) in
# deploy/mosquitto/certs/ (git-ignored). For a demo or a lab: in production use certificates
# from your own CA. Usage: deploy/mosquitto/make-certs.sh [HOSTNAME ...]
# The first hostname is the certificate's subject; every one goes into subjectAltName
# (default: localhost and mosquitto, the broker's name inside the compose network).
# SMARTPARK_CERT_DIR writes them elsewhere (the tests use it).
set -eu
dir="${SMARTPARK_CERT_DIR:-$(dirname "$0")/certs}"
mkdir -p "$dir"
cd "$dir"
[ "$#" -gt 0 ] || set -- localhost mosquitto
san=""
for name in "$@"; do san="${san:+$san,}DNS:$name"; done
san="$san,IP:127.0.0.1"
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=smartpark demo CA" \
    -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout server.key -out server.csr \
    2>/dev/null
printf 'subjectAltName=%s\n' "$san" > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
    -extfile server.ext -out server.crt 2>/dev/null
rm -f server.csr server.ext ca.srl
# The key stays private (0600): mosquitto loads it while still root, before it drops to its
# own user. ca.crt is public: clients need it to check the broker.
chmod 600 ca.key server.key
chmod 644 ca.crt server.crt
echo "wrote $(pwd)/ca.crt (give it to clients), server.crt and server.key (for mosquitto)"
