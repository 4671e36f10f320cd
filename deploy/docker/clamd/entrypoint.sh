#!/bin/bash
# clamd with the signatures from the volume. See the Dockerfile for CLAMD_EICAR_SIGNATURE.
set -euo pipefail
db=/var/lib/clamav
has_sigs() { compgen -G "$db/*.cvd" >/dev/null || compgen -G "$db/*.cld" >/dev/null || compgen -G "$db/*.ndb" >/dev/null || compgen -G "$db/*.hdb" >/dev/null; }
if [ "${CLAMD_EICAR_SIGNATURE:-no}" = yes ]; then
  # Same signatures as packages/testkit writeEicarSignatures(): body (.ndb) and file hash (.hdb).
  eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
  printf 'Postamt.Test.EICAR:0:*:%s\n' "$(printf '%s' "$eicar" | od -An -v -tx1 | tr -d ' \n')" >"$db/postamt-eicar.ndb"
  printf '%s:%s:Postamt.Test.EICAR.File\n' "$(printf '%s' "$eicar" | md5sum | cut -d' ' -f1)" "${#eicar}" >"$db/postamt-eicar.hdb"
  echo "clamd: CLAMD_EICAR_SIGNATURE=yes: seeded the EICAR test signature" >&2
fi
until has_sigs; do
  echo "clamd: no signatures in $db yet; waiting for freshclam (or set CLAMD_EICAR_SIGNATURE=yes for tests)" >&2
  sleep 10
done
exec clamd --foreground --config-file=/etc/clamav/clamd.conf "$@"
