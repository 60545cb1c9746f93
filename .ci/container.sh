#!/usr/bin/env bash
# .ci/container.sh: builds the action's image from the Dockerfile as it is
# and runs it the way the Actions runner runs a container action:
# --workdir /github/workspace; the workspace, home, workflow and file-command
# folders mounted where the runner mounts them; every input as INPUT_<NAME>
# (upper case, hyphens kept) with action.yml's defaults filled as the runner
# fills them; GITHUB_* and RUNNER_* set; the staging API a service on a
# container network, reached by its name. It checks that the outputs, the
# job summary and the JSON report land where the runner reads them, and that
# a stop (SIGTERM) leaves a partial summary marked cancelled.
#
# usage: .ci/container.sh [--measure N]
#
#   --measure N   also time N cold builds (no layer cache) against loading
#                 the built image, and N container starts to first request;
#                 prints the figures BENCHMARKS.md quotes
#
# CONTAINER_KEEP=1 keeps the runner folders, logs and files for a look.
#
# Engine: podman (default; installed from Debian's packages when missing)
# or CONTAINER_ENGINE=docker. Base images are pulled when a registry answers;
# where none does, podman gets local stand-ins tagged with the Dockerfile's
# names: a Debian bookworm rootfs (debootstrap) with this machine's Go
# toolchain for the build stage, and a static root with CA certificates,
# passwd and tzdata for the final one. The rootfs is cached under
# ${XDG_CACHE_HOME:-~/.cache}/deploy-load-check/container.
#
# All load goes to the api container on a network this script creates.
set -euo pipefail
cd "$(dirname "$0")/.."

measure=0
while [ $# -gt 0 ]; do
	case "$1" in
	--measure) measure=$2; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo ".ci/container.sh: unknown argument \"$1\"; see --help" >&2; exit 2 ;;
	esac
	shift
done

echo "--- container: the image built from the Dockerfile and run as the Actions runner runs it"
started=$SECONDS
say() { printf '[container %3ds] %s\n' "$((SECONDS - started))" "$*"; }
fail() { printf '[container %3ds] FAIL: %s\n' "$((SECONDS - started))" "$*" >&2; exit 1; }
# skip: a machine without a container engine passes this step only
# outside CI; in CI (CI=true) the step fails, since a green CI must mean
# the image was built and run.
skip() {
	[ "${CI:-}" != true ] || fail "cannot test the container: $*"
	echo "--- container: skipped: $*"
	exit 0
}

cache="${XDG_CACHE_HOME:-$HOME/.cache}/deploy-load-check/container"
engine_name=${CONTAINER_ENGINE:-podman}
image=localhost/deploy-load-check:ci
api_image=localhost/deploy-load-check-api:ci
max_image_bytes=15000000

# --- the engine ------------------------------------------------------------

case "$engine_name" in
podman)
	missing=()
	# netavark sets up the networks (aardvark-dns resolves the names on
	# them) with iptables, which Debian's podman only suggests.
	for tool in podman runc iptables jq; do command -v "$tool" >/dev/null || missing+=("$tool"); done
	[ -x /usr/lib/podman/netavark ] || missing+=(netavark)
	[ -x /usr/lib/podman/aardvark-dns ] || missing+=(aardvark-dns)
	if [ ${#missing[@]} -gt 0 ]; then
		if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
			skip "${missing[*]} not installed, and this machine cannot install them (needs root and apt-get)"
		fi
		# debootstrap too, in the same go, for the stand-ins a machine
		# without registry access needs.
		command -v debootstrap >/dev/null || missing+=(debootstrap)
		say "apt-get install ${missing[*]}"
		apt_log=$(mktemp)
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
			>"$apt_log" 2>&1 || { cat "$apt_log" >&2; fail "apt-get could not install ${missing[*]}"; }
		rm -f "$apt_log"
	fi
	# runc, because crun rejects this kind of machine's hybrid cgroup
	# layout; cgroupfs, because no systemd manages the cgroups here.
	engine=(podman --runtime runc --cgroup-manager cgroupfs --events-backend file)
	;;
docker) engine=(docker) ;;
*) echo ".ci/container.sh: CONTAINER_ENGINE \"$engine_name\" is not podman or docker" >&2; exit 2 ;;
esac
if ! info=$("${engine[@]}" info 2>&1); then
	skip "$engine_name cannot run here: $(echo "$info" | tail -1)"
fi

# Explicit ulimits within this machine's hard limits: the engines' defaults
# (a million open files, four million processes) are above them, and runc
# then fails to start any container. The soft open-file limit is the usual
# 1024, so the action's own raise to the hard limit is exercised too.
hard_nofile=$(ulimit -Hn)
[ "$hard_nofile" = unlimited ] && hard_nofile=1048576
[ "$hard_nofile" -gt 1048576 ] && hard_nofile=1048576
hard_nproc=$(ulimit -Hu)
[ "$hard_nproc" = unlimited ] && hard_nproc=32768
[ "$hard_nproc" -gt 32768 ] && hard_nproc=32768
ulimits=(--ulimit "nofile=$((hard_nofile < 1024 ? hard_nofile : 1024)):$hard_nofile" --ulimit "nproc=$hard_nproc:$hard_nproc")

work=$(mktemp -d "${TMPDIR:-/tmp}/dlc-container.XXXXXX")
suffix=$$
net=dlc-net-$suffix
api=dlc-api-$suffix
action=dlc-action-$suffix
cleanup() {
	# Only what this script created, by name, one at a time: podman 4.3's
	# rm -f removes nothing when one of the names it is given is gone.
	local name
	for name in "$action" "$api"; do
		"${engine[@]}" rm -f "$name" >/dev/null 2>&1 || true
	done
	"${engine[@]}" network rm "$net" >/dev/null 2>&1 || true
	if "${engine[@]}" container inspect "$api" >/dev/null 2>&1 || "${engine[@]}" network inspect "$net" >/dev/null 2>&1; then
		echo "container: could not remove $api or $net" >&2
	fi
	if [ -n "${CONTAINER_KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The api server and the runner's input filler, built on the host while
# the engine pulls or makes the base images. Static, for the static base.
mkdir -p "$work/api" "$work/bin"
(go vet ./testdata/container/... && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$work/bin/" ./testdata/container/api ./testdata/container/runnerenv \
	>"$work/go-build.log" 2>&1 && echo ok >"$work/go-build.ok") &
host_build=$!

# --- base images -------------------------------------------------------------

# qualified NAME: the name as the engine stores it (docker.io/library/golang:1.26-bookworm).
qualified() {
	local name=$1 first=${1%%/*}
	if [[ $name != */* ]]; then
		name=docker.io/library/$name
	elif [[ $first != *.* && $first != *:* && $first != localhost ]]; then
		name=docker.io/$name
	fi
	[[ ${name##*/} == *:* || $name == *@* ]] || name=$name:latest
	echo "$name"
}

standin_label=org.opencontainers.image.description
standin_note="local stand-in built by .ci/container.sh"

# rootfs: a Debian bookworm minbase with CA certificates and tzdata,
# debootstrapped once from the machine's apt mirror and kept as a tar in the
# cache, unpacked into $work/rootfs.
rootfs() {
	[ -d "$work/rootfs" ] && return 0
	local arch tar mirror
	arch=$(dpkg --print-architecture)
	tar="$cache/bookworm-minbase-$arch-v1.tar"
	if [ ! -s "$tar" ]; then
		command -v debootstrap >/dev/null || {
			say "apt-get install debootstrap"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >"$work/apt.log" 2>&1 ||
				{ cat "$work/apt.log" >&2; fail "apt-get could not install debootstrap"; }
		}
		mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep -v security | head -1)
		[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 ~ /^bookworm$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
		mirror=${mirror:-http://deb.debian.org/debian}
		say "debootstrap bookworm (minbase, ca-certificates, tzdata) from $mirror into the cache"
		mkdir -p "$cache" "$work/debootstrap"
		debootstrap --variant=minbase --include=ca-certificates,tzdata bookworm "$work/debootstrap" "$mirror" \
			>"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap failed"; }
		rm -rf "$work/debootstrap/var/cache/apt/archives/"*.deb "$work/debootstrap/var/lib/apt/lists/"*
		tar -C "$work/debootstrap" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
		rm -rf "$work/debootstrap"
	fi
	mkdir -p "$work/rootfs"
	tar -C "$work/rootfs" -xf "$tar"
}

# standin_golang NAME: the rootfs with this machine's Go toolchain where the
# golang image has its own, and the golang image's environment.
standin_golang() {
	local name=$1 want goroot version
	want=${name##*:}
	want=go${want%%-*}
	version=$(go env GOVERSION)
	[[ $version == "$want" || $version == "$want".* ]] ||
		fail "$name needs Go ${want#go}, and this machine has $version: no faithful stand-in"
	goroot=$(go env GOROOT)
	rootfs
	say "stand-in $name: the rootfs with $version from $goroot"
	tar -c -C "$work/rootfs" . -C "$(dirname "$goroot")" --transform "s,^$(basename "$goroot"),./usr/local/go," "$(basename "$goroot")" |
		"${engine[@]}" import -q \
			--change "ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
			--change "ENV GOLANG_VERSION=${version#go}" \
			--change "ENV GOTOOLCHAIN=local" \
			--change "ENV GOPATH=/go" \
			--change "ENV GOPROXY=$(go env GOPROXY)" \
			--change "ENV GOSUMDB=$(go env GOSUMDB)" \
			--change "WORKDIR /go" \
			--change "LABEL $standin_label=\"$standin_note\"" \
			- "$name" >/dev/null
}

# standin_static NAME: what distroless/static holds: CA certificates,
# passwd and group with root, nobody and nonroot, tzdata, /tmp.
standin_static() {
	local name=$1 dir="$work/static"
	rootfs
	say "stand-in $name: CA certificates, passwd, tzdata"
	mkdir -p "$dir/etc/ssl/certs" "$dir/usr/share" "$dir/tmp" "$dir/root" "$dir/home/nonroot"
	cp "$work/rootfs/etc/ssl/certs/ca-certificates.crt" "$dir/etc/ssl/certs/"
	cp -a "$work/rootfs/usr/share/zoneinfo" "$dir/usr/share/"
	cp -L "$work/rootfs/etc/os-release" "$dir/etc/os-release"
	[ ! -e "$work/rootfs/etc/services" ] || cp "$work/rootfs/etc/services" "$dir/etc/"
	printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
		'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$dir/etc/passwd"
	printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' >"$dir/etc/group"
	printf 'hosts: files dns\n' >"$dir/etc/nsswitch.conf"
	chmod 1777 "$dir/tmp"
	chmod 700 "$dir/root" "$dir/home/nonroot"
	chown 65532:65532 "$dir/home/nonroot"
	tar -c -C "$dir" --owner=0 --group=0 --exclude=./home/nonroot . -C "$dir" ./home/nonroot |
		"${engine[@]}" import -q \
			--change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
			--change "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" \
			--change "LABEL $standin_label=\"$standin_note\"" \
			- "$name" >/dev/null
}

# pull_error: the root cause of the last pull's failure, in a few words.
pull_error() { tail -1 "$work/pull.log" | sed 's/.*: //' | cut -c1-80; }

# base NAME: the real image when a registry answers in time, else the one
# already here, else a stand-in.
base() {
	local name
	name=$(qualified "$1")
	if timeout 60 "${engine[@]}" pull -q "$name" >"$work/pull.log" 2>&1; then
		say "base $name: pulled"
		return 0
	fi
	if "${engine[@]}" image inspect "$name" >/dev/null 2>&1; then
		local label
		label=$("${engine[@]}" image inspect --format "{{index .Labels \"$standin_label\"}}" "$name" 2>/dev/null || true)
		say "base $name: not pulled ($(pull_error)); using the image already here${label:+ ($label)}"
		return 0
	fi
	[ "$engine_name" = podman ] || { cat "$work/pull.log" >&2; fail "cannot pull $name"; }
	say "base $name: not pulled ($(pull_error))"
	case "$name" in
	docker.io/library/golang:*-bookworm) standin_golang "$name" ;;
	gcr.io/distroless/static*) standin_static "$name" ;;
	*) fail "no stand-in for $name; the Dockerfile's bases changed, teach .ci/container.sh about it" ;;
	esac
}

while read -r from; do
	base "$from"
done < <(awk 'toupper($1) == "FROM" { for (i = 2; i <= NF; i++) if ($i !~ /^--/) { print $i; break } }' Dockerfile | sort -u)

# --- the image ---------------------------------------------------------------

build_args=(build --tag "$image" --file Dockerfile)
cached_build=()
if [ "$engine_name" = podman ]; then
	build_args+=(--pull=never "${ulimits[@]}")
	# Go's build cache, kept between runs on this machine like the layers;
	# the cold builds of --measure go without it.
	mkdir -p "$cache/go-build"
	cached_build=(--volume "$cache/go-build:/root/.cache/go-build")
	# Outbound TLS on this kind of machine is re-signed by a local CA: the
	# build's go mod download must trust what the host trusts.
	ca=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
	[ ! -s "$ca" ] || build_args+=(--volume "$ca:/etc/ssl/certs/ca-certificates.crt:ro")
fi

# build [extra args]: the image from the Dockerfile, unchanged.
build() {
	"${engine[@]}" "${build_args[@]}" "$@" . >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; fail "the image did not build"; }
}

old_id=$("${engine[@]}" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
t0=$SECONDS
build "${cached_build[@]}"
build_s=$((SECONDS - t0))
new_id=$("${engine[@]}" image inspect --format '{{.Id}}' "$image")
[ -z "$old_id" ] || [ "$old_id" = "$new_id" ] || "${engine[@]}" rmi "$old_id" >/dev/null 2>&1 || true
size=$("${engine[@]}" image inspect --format '{{.Size}}' "$image")
say "image $image built in ${build_s}s: $size bytes"
[ "$size" -le "$max_image_bytes" ] || fail "the image is $size bytes, over the $max_image_bytes target"
if [ "$engine_name" = podman ]; then
	# What a pull moves: the layers gzip-compressed, as a registry holds them.
	"${engine[@]}" push -q --compression-format gzip "$image" "oci:$work/oci:ci" >"$work/push.log" 2>&1 ||
		{ cat "$work/push.log" >&2; fail "could not copy the image out to count its compressed layers"; }
	manifest=$(jq -r '.manifests[0].digest' "$work/oci/index.json" | sed 's/^sha256://')
	pulled=$(jq '[.layers[].size] | add' "$work/oci/blobs/sha256/$manifest")
	say "image layers gzip-compressed (what a pull moves): $pulled bytes"
fi

# --- the staging API on a container network ---------------------------------

wait "$host_build" || true
[ -e "$work/go-build.ok" ] || { cat "$work/go-build.log" >&2; fail "the api server or runnerenv did not build"; }
cp "$work/bin/api" testdata/container/api/Containerfile "$work/api/"
api_build_args=(build --quiet --tag "$api_image" --file "$work/api/Containerfile")
[ "$engine_name" != podman ] || api_build_args+=(--pull=never "${ulimits[@]}")
"${engine[@]}" "${api_build_args[@]}" "$work/api" >"$work/api-build.log" 2>&1 || { cat "$work/api-build.log" >&2; fail "the api image did not build"; }
"${engine[@]}" network create "$net" >/dev/null

# start_api: the api service, reachable as http://api:8080 on $net.
start_api() {
	"${engine[@]}" rm -f "$api" >/dev/null 2>&1 || true
	# (aardvark-dns may say on stderr that it has no syslog: only shown on failure.)
	"${engine[@]}" run -d --name "$api" --network "$net" --network-alias api "${ulimits[@]}" "$api_image" >/dev/null 2>"$work/api-run.log" ||
		{ cat "$work/api-run.log" >&2; fail "the api container did not start"; }
	wait_log "$api" '^listening ' 20 || fail "the api container did not start: $(cat "$work/api-run.log"; "${engine[@]}" logs "$api" 2>&1 | tail -5)"
}

# wait_log CONTAINER REGEX SECONDS: until a log line of CONTAINER matches.
wait_log() {
	local deadline=$((SECONDS + $3))
	until "${engine[@]}" logs "$1" 2>/dev/null | grep -Eq "$2"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# api_served: requests the api has answered so far.
api_served() { "${engine[@]}" logs "$api" 2>/dev/null | awk '$1 == "served" { n = $2 } END { print n + 0 }'; }

# --- the runner ----------------------------------------------------------------

token=ghs_container0check0token0never0sent0anywhere

# runner_dirs NAME: a fresh runner layout under $work/NAME, as the runner
# keeps it beside a job: the workspace, and _temp with home, workflow and
# the file commands.
runner_dirs() {
	local dir="$work/$1"
	mkdir -p "$dir/workspace" "$dir/_temp/_github_home" "$dir/_temp/_github_workflow" "$dir/_temp/_runner_file_commands"
	cp testdata/container/event.json "$dir/_temp/_github_workflow/event.json"
	echo "checked out" >"$dir/workspace/README.md"
}

# run_action NAME WITH_FILE: the action's container as the runner starts it
# for a step with WITH_FILE as its with: block, on the job's network,
# attached, output to $work/NAME.log; returns its exit code.
run_action() {
	local name=$1 with=$2 dir="$work/$1" id kv
	runner_dirs "$name"
	id=$(cat /proc/sys/kernel/random/uuid)
	: >"$dir/_temp/_runner_file_commands/set_output_$id"
	: >"$dir/_temp/_runner_file_commands/step_summary_$id"
	: >"$dir/_temp/_runner_file_commands/set_env_$id"
	: >"$dir/_temp/_runner_file_commands/add_path_$id"
	: >"$dir/_temp/_runner_file_commands/save_state_$id"
	echo "$id" >"$dir/id"
	local env_args=() kv
	# Every input of action.yml, filled as the runner fills it; runnerenv
	# fails on an expression it cannot fill, and so does this step.
	"$work/bin/runnerenv" -action action.yml -with "$with" \
		-github repository=zerodowntime/deploy-load-check -github token="$token" \
		-github run_id=1 -github run_attempt=1 >"$dir/inputs.env" ||
		fail "runnerenv could not fill the inputs of action.yml"
	while IFS= read -r -d '' kv; do env_args+=(-e "$kv"); done <"$dir/inputs.env"
	local want
	want=$(grep -c '^  [a-z][a-z0-9-]*:$' <(sed -n '/^inputs:/,/^[a-z]/p' action.yml))
	[ ${#env_args[@]} -eq $((2 * want)) ] || fail "runnerenv passed $((${#env_args[@]} / 2)) inputs; action.yml has $want"
	local fc=/github/file_commands
	env_args+=(
		-e HOME=/github/home
		-e GITHUB_JOB=load -e GITHUB_REF=refs/pull/1/merge -e GITHUB_SHA=0000000000000000000000000000000000000003
		-e GITHUB_REPOSITORY=zerodowntime/deploy-load-check -e GITHUB_REPOSITORY_OWNER=zerodowntime
		-e GITHUB_REPOSITORY_ID=1 -e GITHUB_REPOSITORY_OWNER_ID=1
		-e GITHUB_RUN_ID=1 -e GITHUB_RUN_NUMBER=1 -e GITHUB_RETENTION_DAYS=90 -e GITHUB_RUN_ATTEMPT=1
		-e GITHUB_ACTOR_ID=1 -e GITHUB_ACTOR=octocat -e GITHUB_TRIGGERING_ACTOR=octocat
		-e GITHUB_WORKFLOW=ci -e GITHUB_HEAD_REF=feature -e GITHUB_BASE_REF=main -e GITHUB_EVENT_NAME=pull_request
		-e GITHUB_SERVER_URL=https://github.invalid
		# PR-check mode makes no GitHub call: an address that can never answer.
		-e GITHUB_API_URL=https://api.github.invalid -e GITHUB_GRAPHQL_URL=https://api.github.invalid/graphql
		-e GITHUB_REF_NAME=1/merge -e GITHUB_REF_PROTECTED=false -e GITHUB_REF_TYPE=branch
		-e GITHUB_WORKFLOW_REF=zerodowntime/deploy-load-check/.github/workflows/ci.yml@refs/pull/1/merge
		-e GITHUB_WORKFLOW_SHA=0000000000000000000000000000000000000003
		-e GITHUB_WORKSPACE=/github/workspace -e GITHUB_ACTION=check -e GITHUB_EVENT_PATH=/github/workflow/event.json
		-e GITHUB_ACTION_REPOSITORY= -e GITHUB_ACTION_REF=
		-e GITHUB_PATH="$fc/add_path_$id" -e GITHUB_ENV="$fc/set_env_$id" -e GITHUB_STEP_SUMMARY="$fc/step_summary_$id"
		-e GITHUB_STATE="$fc/save_state_$id" -e GITHUB_OUTPUT="$fc/set_output_$id"
		-e RUNNER_OS=Linux -e RUNNER_ARCH="$(uname -m | sed 's/x86_64/X64/; s/aarch64/ARM64/')" -e RUNNER_NAME=container-check
		-e RUNNER_ENVIRONMENT=self-hosted -e RUNNER_TOOL_CACHE=/opt/hostedtoolcache -e RUNNER_TEMP=/home/runner/work/_temp
		-e RUNNER_WORKSPACE=/home/runner/work/deploy-load-check
		-e GITHUB_ACTIONS=true -e CI=true
	)
	date +%s%N >"$dir/started-ns"
	local rc=0
	"${engine[@]}" run --name "$action" --label deploy-load-check-ci --workdir /github/workspace --rm \
		--network "$net" "${ulimits[@]}" "${env_args[@]}" \
		-v "$dir/_temp/_github_home:/github/home" \
		-v "$dir/_temp/_github_workflow:/github/workflow" \
		-v "$dir/_temp/_runner_file_commands:/github/file_commands" \
		-v "$dir/workspace:/github/workspace" \
		"$image" >"$work/$name.log" 2>&1 || rc=$?
	return "$rc"
}

# output NAME FILE: the last value the step set for output NAME, in either of
# the file command's forms (NAME=VALUE, or NAME<<DELIMITER lines).
output() {
	awk -v want="$1" '
		in_value { if ($0 == delim) { in_value = 0; if (name == want) { last = value; found = 1 } } else { value = (n++ ? value "\n" : "") $0 }; next }
		index($0, "<<") { name = substr($0, 1, index($0, "<<") - 1); delim = substr($0, index($0, "<<") + 2); in_value = 1; value = ""; n = 0; next }
		index($0, "=") { if (substr($0, 1, index($0, "=") - 1) == want) { last = substr($0, index($0, "=") + 1); found = 1 } }
		END { if (found) print last; exit !found }' "$2"
}

# check_files NAME VERDICT: outputs, summary and report where the runner
# and the workspace's next steps read them.
check_files() {
	local name=$1 want=$2 dir="$work/$1" id outputs summary verdict report requests
	id=$(cat "$dir/id")
	outputs="$dir/_temp/_runner_file_commands/set_output_$id"
	summary="$dir/_temp/_runner_file_commands/step_summary_$id"
	[ -s "$outputs" ] || fail "$name: no step outputs in the file GITHUB_OUTPUT named"
	verdict=$(output verdict "$outputs") || fail "$name: no verdict output; outputs: $(cat "$outputs")"
	[ "$verdict" = "$want" ] || fail "$name: verdict \"$verdict\", want \"$want\"; log: $(tail -5 "$work/$name.log")"
	requests=$(output requests "$outputs") || fail "$name: no requests output"
	[ "$requests" -gt 0 ] || fail "$name: $requests requests"
	[ -s "$summary" ] || fail "$name: no job summary in the file GITHUB_STEP_SUMMARY named"
	grep -qi "$want" "$summary" || fail "$name: the job summary does not say $want"
	grep -q "\b$requests\b" "$summary" || fail "$name: the job summary does not give the $requests requests"
	report=$(output report "$outputs") || fail "$name: no report output"
	[ -n "$report" ] || fail "$name: empty report output"
	case "$report" in
	/github/workspace/*) report=${report#/github/workspace/} ;;
	/*) fail "$name: report $report is outside the workspace" ;;
	esac
	[ -s "$dir/workspace/$report" ] || fail "$name: report $report is not in the workspace"
	jq -e --argjson n "$requests" '.requests == $n' "$dir/workspace/$report" >/dev/null ||
		fail "$name: report $report is not JSON with the $requests requests of the outputs"
	# The token may reach the log only in the command that masks it.
	for f in "$dir/_temp/_runner_file_commands/"* "$dir/workspace/$report" "$work/$name.log"; do
		! grep -v '^::add-mask::' "$f" | grep -q "$token" || fail "$name: the github-token reached $(basename "$f")"
	done
	[ "$(find "$dir/workspace" -type f | wc -l)" = 2 ] ||
		fail "$name: files other than the report appeared in the workspace: $(find "$dir/workspace" -type f)"
	echo "$requests"
}

# --- the checks ----------------------------------------------------------------

say "api service on network $net; the action's container as the runner starts it"
start_api

# A PR check that holds: exit 0, verdict pass, the files in place.
rc=0
run_action pass testdata/container/pass.yml || rc=$?
[ "$rc" = 0 ] || { cat "$work/pass.log" >&2; fail "pass: exit code $rc, want 0"; }
requests=$(check_files pass pass)
first_ns=$("${engine[@]}" logs "$api" | awk '$1 == "first-request" { print $2; exit }')
[ -n "$first_ns" ] || fail "pass: the api saw no request"
start_ms=$(((first_ns - $(cat "$work/pass/started-ns")) / 1000000))
deadline=$((SECONDS + 5))
until served=$(api_served) && [ "$served" -ge "$requests" ] || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.2; done
[ "$served" -ge "$requests" ] || fail "pass: the api answered $served requests, fewer than the $requests the action counted"
say "pass: exit 0, verdict pass, $requests requests (the api answered $served), outputs, summary and report in place; container start to first request ${start_ms}ms"

# A stop while the load flows: SIGTERM, a partial summary marked cancelled,
# before the engine's 10 s grace runs out.
before=$(api_served)
run_action cancel testdata/container/cancel.yml &
runner=$!
deadline=$((SECONDS + 60))
until [ "$(api_served)" -ge $((before + 40)) ]; do
	kill -0 "$runner" 2>/dev/null || { wait "$runner" || true; cat "$work/cancel.log" >&2; fail "cancel: the action ended before it was stopped"; }
	[ "$SECONDS" -lt "$deadline" ] || fail "cancel: the load did not reach the api"
	sleep 0.2
done
t0=$(date +%s%N)
"${engine[@]}" stop --time 10 "$action" >/dev/null
rc=0
wait "$runner" || rc=$?
stop_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$rc" = 3 ] || { cat "$work/cancel.log" >&2; fail "cancel: exit code $rc after SIGTERM, want 3 (cancelled)"; }
[ "$stop_ms" -lt 10000 ] || fail "cancel: took ${stop_ms}ms to stop; the engine's grace is 10 s"
requests=$(check_files cancel cancelled)
say "cancel: SIGTERM, exit 3 in ${stop_ms}ms, verdict cancelled after $requests requests, partial summary and report in place"

# --- figures ------------------------------------------------------------------

if [ "$measure" -gt 0 ]; then
	say "measuring: $measure container starts to first request"
	starts=()
	for _ in $(seq "$measure"); do
		start_api
		run_action pass testdata/container/pass.yml || fail "measure: the pass run failed"
		first_ns=$("${engine[@]}" logs "$api" | awk '$1 == "first-request" { print $2; exit }')
		starts+=($(((first_ns - $(cat "$work/pass/started-ns")) / 1000000)))
	done
	say "container start to first request (ms): ${starts[*]}"
	say "measuring: $measure cold builds (no layer cache; bases already here) against loading the built image"
	"${engine[@]}" save -o "$work/image.tar" "$image" >/dev/null 2>&1
	builds=() loads=()
	for _ in $(seq "$measure"); do
		t0=$(date +%s%N)
		build --no-cache
		builds+=($((($(date +%s%N) - t0) / 1000000)))
		"${engine[@]}" rmi -f "$image" >/dev/null
		t0=$(date +%s%N)
		"${engine[@]}" load -q -i "$work/image.tar" >/dev/null
		loads+=($((($(date +%s%N) - t0) / 1000000)))
	done
	say "cold build from the Dockerfile (ms): ${builds[*]}"
	say "load of the built image (ms): ${loads[*]}"
fi

say "passed in $((SECONDS - started))s"
