#!/bin/bash
# freshclam as a long-running service: first download, then checks per day (freshclam.conf Checks).
set -euo pipefail
exec freshclam --foreground --daemon --config-file=/etc/clamav/freshclam.conf "$@"
