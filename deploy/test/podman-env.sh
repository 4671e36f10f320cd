# Sourced by deploy/test/*.sh: rootful podman configured for the CI/dev machine
# (see the containers notes: runc not crun, ulimits within the VM's hard limits,
# docker image format so HEALTHCHECK survives, no registry searches).
# Everything lives under $POSTAMT_DEPLOY_CACHE so images survive between runs
# and nothing is written to /etc/containers.
: "${POSTAMT_DEPLOY_CACHE:=/var/cache/postamt-deploy-test}"
export POSTAMT_DEPLOY_CACHE
_pc=$POSTAMT_DEPLOY_CACHE
mkdir -p "$_pc/conf" "$_pc/run" "$_pc/networks" "$_pc/storage"
cat > "$_pc/conf/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
tmp_dir = "$_pc/run/libpod"
[network]
network_backend = "netavark"
network_config_dir = "$_pc/networks"
CONF
cat > "$_pc/conf/storage.conf" <<CONF
[storage]
driver = "overlay"
runroot = "$_pc/run/storage"
graphroot = "$_pc/storage"
CONF
echo 'unqualified-search-registries = []' > "$_pc/conf/registries.conf"
export CONTAINERS_CONF=$_pc/conf/containers.conf
export CONTAINERS_STORAGE_CONF=$_pc/conf/storage.conf
export CONTAINERS_REGISTRIES_CONF=$_pc/conf/registries.conf
export BUILDAH_FORMAT=docker
export PODMAN_SOCK=$_pc/run/podman.sock
unset _pc
