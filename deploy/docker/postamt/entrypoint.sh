#!/bin/sh
# Starts one Postamt service ($POSTAMT_SERVICE, or the first argument) with Node
# as PID 1 (exec), so SIGTERM reaches the service's graceful stop.
#   TLS:  a certificate pair in $POSTAMT_TLS_DIR (default /etc/postamt/tls) is used
#         when POSTAMT_TLS_CERT is unset: fullchain.pem+privkey.pem (certbot),
#         tls.crt+tls.key (Kubernetes TLS secret) or cert.pem+key.pem. With none,
#         the service makes a self-signed pair under $POSTAMT_DATA/tls once.
#   seed: /etc/postamt/seed.yml is used when POSTAMT_SEED is unset and it exists;
#         else POSTAMT_DOMAIN (one or more, comma-separated) becomes a seed of domains.
set -eu
svc=${1:-${POSTAMT_SERVICE:-}}
if [ -z "$svc" ]; then
  echo "postamt: set POSTAMT_SERVICE or pass a service name (intake filter relay imap pop3 admin)" >&2
  exit 64
fi
main=/app/services/$svc/dist/main.js
if [ ! -f "$main" ]; then
  echo "postamt: service '$svc' is not built into this image ($main is missing)" >&2
  exit 78
fi
tls=${POSTAMT_TLS_DIR:-/etc/postamt/tls}
if [ -z "${POSTAMT_TLS_CERT:-}" ]; then
  for pair in "fullchain.pem privkey.pem" "tls.crt tls.key" "cert.pem key.pem"; do
    crt=${pair% *}; key=${pair#* }
    if [ -r "$tls/$crt" ] && [ -r "$tls/$key" ]; then
      export POSTAMT_TLS_CERT="$tls/$crt" POSTAMT_TLS_KEY="$tls/$key"
      break
    fi
  done
fi
if [ -z "${POSTAMT_SEED:-}" ] && [ -r /etc/postamt/seed.yml ]; then
  export POSTAMT_SEED=/etc/postamt/seed.yml
elif [ -z "${POSTAMT_SEED:-}" ] && [ -n "${POSTAMT_DOMAIN:-}" ]; then
  # First run without a seed file: the domain(s) from the environment, comma-separated.
  seed=${TMPDIR:-/tmp}/postamt-seed.yml
  printf 'domains: [%s]\n' "$(printf '%s' "$POSTAMT_DOMAIN" | tr -d ' ' | sed 's/,/, /g')" >"$seed"
  export POSTAMT_SEED="$seed"
fi
export POSTAMT_SERVICE="$svc"
exec node "$main"
