#!/bin/bash
set -euo pipefail
home=/var/lib/spamassassin
net=()
if [ "${SPAMD_NETWORK_TESTS:-yes}" = yes ]; then
  # Razor needs an identity once; both tools are best effort (their absence only costs points).
  if [ ! -e "$home/.razor/identity" ]; then
    razor-admin -home="$home/.razor" -create >/dev/null 2>&1 || true
    timeout 60 razor-admin -home="$home/.razor" -register >/dev/null 2>&1 || echo "spamd: razor registration failed (no network?)" >&2
  fi
  if [ "${SPAMD_UPDATE_RULES:-no}" = yes ]; then
    # Writes /var/lib/spamassassin/<version>/, which SpamAssassin prefers over the packaged rules.
    timeout 300 sa-update -v || echo "spamd: sa-update found nothing new or failed" >&2
  fi
else
  net=(-L)
fi
# -u is required with --virtual-config-dir; as the same non-root user it changes nothing.
exec spamd -x -u debian-spamd --virtual-config-dir="$home/users/%u" \
  -i 0.0.0.0:783 -A "${SPAMD_ALLOWED_IPS:-0.0.0.0/0,::/0}" \
  --allow-tell "${net[@]}" \
  --max-children="${SPAMD_MAX_CHILDREN:-5}" --min-children="${SPAMD_MIN_CHILDREN:-2}" \
  --pidfile=/run/spamd/spamd.pid -s stderr \
  "$@"
