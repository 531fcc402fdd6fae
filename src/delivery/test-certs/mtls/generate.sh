#!/bin/sh
# Regenerates the mutual-TLS test material (run from this folder). Test-only: these keys protect nothing.
set -eu
days=36500
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
# A test CA (key kept: the e2e tests need nothing more, but regenerating leaves are easier with it).
openssl req -x509 $ec -days $days -subj "/CN=Bridge Test CA" -keyout ca.key -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
# The receiver's certificate: 127.0.0.1 and localhost.
openssl req $ec -subj "/CN=receiver.test" -keyout server.key -out server.csr
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days $days -extfile server.ext -out server.pem
# The bridge's client certificate, signed by the same CA.
openssl req $ec -subj "/CN=webhook-bridge/O=Bridge Test" -keyout client.key -out client.csr
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days $days -extfile client.ext -out client.pem
# The same client key, encrypted with the passphrase in client.passphrase.
printf 'test-passphrase\n' > client.passphrase
openssl pkey -in client.key -aes256 -passout file:client.passphrase -out client-encrypted.key
# An unrelated CA and a client certificate it signed: a receiver trusting ca.pem refuses it.
openssl req -x509 $ec -days $days -subj "/CN=Other Test CA" -keyout other-ca.key -out other-ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req $ec -subj "/CN=stranger" -keyout other-client.key -out other-client.csr
openssl x509 -req -in other-client.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial -days $days -extfile client.ext -out other-client.pem
rm -f ./*.csr ./*.ext ./*.srl
