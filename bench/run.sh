#!/usr/bin/env bash
# bench/run.sh: benchmarks deploy-load-check against the tools users would
# otherwise pick (vegeta CLI v12.13.0, k6 constant-arrival-rate), and checks
# its performance targets. See BENCHMARKS.md for what each part measures and
# for results.
#
# usage: bench/run.sh [--quick] [COMMAND...] [OPTIONS]
#
# commands (default: cpu):
#   cpu        deploy-load-check (with its defaults, and keep-alive only),
#              vegeta attack | vegeta report, and k6, side by side against
#              one nginx on 127.0.0.1, for each rate; tool order rotated
#              every repeat; medians and CPU ratios printed
#   memory     peak RSS of a --short run against a --long one at --mem-rate
#   accuracy   p95/p99 reported against the exact ones of the same run, on
#              a loopback server with a known bimodal latency
#   startup    process start to first request, for each tool
#   profile    CPU, allocation and mutex profiles of our hot path under load,
#              and the Go benchmarks of internal/stats and internal/load
#   memtrace   our generator and recorder (bench/cmd/profile) for --long at
#              --mem-rate, printing heap, stacks, RSS, goroutines and open
#              files every 10 s: tells a leak from a burst of connections
#   ab         A/B of deploy-load-check builds (--variant, twice or more),
#              alternating, same nginx: to check a proposed change's gain
#   all        cpu, accuracy, startup, profile, memory
#
# options:
#   --quick            one rate (1000/s), 5 s runs, 2 repeats, and a start-up
#                      check: about a minute once the tools are installed
#   --rates "R ..."    requests per second (default "1000 4000")
#   --duration S       seconds per run (default 10)
#   --repeats N        repeats per rate (default 5)
#   --short D/--long D memory runs (default 1m and 10m)
#   --mem-rate R       memory runs' rate per second (default 1000)
#   --acc-rate R       accuracy run's rate per second (default 1000)
#   --acc-duration S   accuracy run's seconds (default 20)
#   --out DIR          where raw files go (default /tmp/dlc-bench/DATE)
#   --nginx-cpu LIST   CPUs nginx is pinned to with taskset (default: the
#                      last CPU; "" for none)
#   --tool-cpus LIST   CPUs the load tools are pinned to (default: none)
#   --quiet-wait S     before each run, wait up to S seconds for the machine
#                      to be idle (default 300; 0 to skip)
#   --no-install       use vegeta, k6, nginx and time as found on PATH
#   --variant N:BIN[:ENV=V,...]  a build for ab, with extra environment
#   --ours BIN         use this deploy-load-check build instead of building
#                      the tree (to compare a proposed change with the peers)
#   --ours-env ENV=V,...  extra environment for our binary (e.g. GOMAXPROCS=1)
#
# All load goes to 127.0.0.1. Every run is bounded by `timeout`; nginx and
# the bench server are started by this script, in the foreground of a
# child, and stopped by their own process id when it exits.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VEGETA_VERSION=v12.13.0
# k6@latest resolved to v1.8.1 when this was written; pinned so runs compare.
K6_VERSION=v1.8.1

quick=0
commands=()
rates="1000 4000"
duration=10
repeats=5
short=1m
long=10m
mem_rate=1000
acc_rate=1000
acc_duration=20
out=""
ncpu=$(nproc)
nginx_cpu=$((ncpu - 1))
tool_cpus=""
quiet_wait=300
install=1
variants=()
ours_bin=""
ours_env=""

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--rates) rates=$2; shift ;;
	--duration) duration=$2; shift ;;
	--repeats) repeats=$2; shift ;;
	--short) short=$2; shift ;;
	--long) long=$2; shift ;;
	--mem-rate) mem_rate=$2; shift ;;
	--acc-rate) acc_rate=$2; shift ;;
	--acc-duration) acc_duration=$2; shift ;;
	--out) out=$2; shift ;;
	--nginx-cpu) nginx_cpu=$2; shift ;;
	--tool-cpus) tool_cpus=$2; shift ;;
	--quiet-wait) quiet_wait=$2; shift ;;
	--no-install) install=0 ;;
	--variant) variants+=("$2"); shift ;;
	--ours) ours_bin=$(realpath "$2"); shift ;;
	--ours-env) ours_env=$2; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	cpu | memory | memtrace | accuracy | startup | profile | ab) commands+=("$1") ;;
	all) commands+=(cpu accuracy startup profile memory) ;;
	*) echo "bench/run.sh: unknown argument \"$1\"; see --help" >&2; exit 2 ;;
	esac
	shift
done
if [ "$quick" = 1 ]; then
	rates=1000 duration=5 repeats=2
	[ ${#commands[@]} -gt 0 ] || commands=(cpu startup)
fi
[ ${#commands[@]} -gt 0 ] || commands=(cpu)
out=${out:-/tmp/dlc-bench/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
tools="$out/bin"
src="$out/src"
mkdir -p "$tools"
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# --- peers -----------------------------------------------------------------

install_peers() {
	local missing=()
	command -v nginx >/dev/null || missing+=(nginx)
	[ -x /usr/bin/time ] || missing+=(time)
	command -v taskset >/dev/null || missing+=(util-linux)
	if [ ${#missing[@]} -gt 0 ]; then
		[ "$install" = 1 ] || { echo "missing: ${missing[*]}" >&2; exit 2; }
		log "apt-get install ${missing[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
	# The three Go tools are built by the same toolchain with the same
	# settings, so none gains from a different compiler or cgo.
	export CGO_ENABLED=0
	if [ "$install" = 1 ]; then
		log "go install vegeta@$VEGETA_VERSION and k6@$K6_VERSION (cached after the first time)"
		GOBIN="$tools" go install "github.com/tsenart/vegeta/v12@$VEGETA_VERSION"
		GOBIN="$tools" go install "go.k6.io/k6@$K6_VERSION"
	else
		ln -sf "$(command -v vegeta)" "$tools/vegeta"
		ln -sf "$(command -v k6)" "$tools/k6"
	fi
	# Build from a copy of the tree, so that the binary and the Go
	# benchmarks see the same sources even while someone edits the work
	# tree, and record the commit it was taken from; retry while the tree
	# does not build or run.
	local try commit
	for try in $(seq 10); do
		rm -rf "$src" && mkdir -p "$src"
		commit=$(sources_commit)
		(cd "$ROOT" && tar cf - --exclude=./.git --exclude=./deploy-load-check .) | tar xf - -C "$src"
		log "build deploy-load-check and the bench helpers (from a copy of the tree in $src)"
		if [ -n "$ours_bin" ]; then
			cp "$ours_bin" "$tools/deploy-load-check"
		elif ! (cd "$src" && go build -trimpath -o "$tools/deploy-load-check" .); then
			false
		fi &&
			(cd "$src" && go build -trimpath -o "$tools/" ./bench/cmd/...) &&
			"$tools/deploy-load-check" --help >/dev/null 2>&1 && break
		[ "$try" -lt 10 ] || { echo "the tree does not build or run; giving up" >&2; exit 2; }
		log "the tree does not build or run right now (being edited?); retrying in 20s"
		sleep 20
	done
	{
		echo "nproc: $(nproc)"
		echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
		echo "kernel: $(uname -r)"
		echo "go: $(go version)"
		echo "nginx: $(nginx -v 2>&1)"
		echo "vegeta: $VEGETA_VERSION, k6: $("$tools/k6" version 2>/dev/null | head -1)"
		echo "nginx pinned to CPUs: ${nginx_cpu:-none}; tools pinned to CPUs: ${tool_cpus:-none}"
		echo "deploy-load-check: ${ours_bin:-built from the copy of the tree}${ours_env:+, environment $ours_env}"
		echo "sources: commit $commit"
	} >"$out/machine.txt"
}

# sources_commit: the commit the work tree is at, with "+dirty" when it has
# changes (tracked or untracked) that the commit does not hold.
sources_commit() {
	local head
	head=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null) || { echo "unknown (not a git work tree)"; return; }
	if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]; then head+="+dirty"; fi
	echo "$head"
}

pin_tools() { if [ -n "$tool_cpus" ]; then echo "taskset -c $tool_cpus"; fi; }

# rate_flags BIN RATE: builds that cap the rate (input max-rate) need it
# raised to RATE; older builds have no such flag.
rate_flags() {
	local help
	help=$("$1" --help 2>&1 || true)
	if [[ $help == *-max-rate* ]]; then echo "--max-rate $2/1s"; fi
}

# --- targets ---------------------------------------------------------------

nginx_pid=""
server_pid=""
cleanup() {
	# Only the processes this script started, by their ids.
	if [ -n "$nginx_pid" ]; then kill -TERM "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
	if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_nginx: one worker, a static 200 "ok\n", keep-alive, no logs, on
# 127.0.0.1, in the foreground of this script (daemon off), pinned to
# $nginx_cpu so that it does not take the load tools' CPU.
start_nginx() {
	local dir="$out/nginx" port
	mkdir -p "$dir"
	for port in $(seq 18080 18099); do port_free "$port" && break; done
	cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 75s;
  server {
    listen 127.0.0.1:$port;
    location / { default_type text/plain; return 200 "ok\n"; }
  }
}
EOF
	if [ -n "$nginx_cpu" ]; then
		taskset -c "$nginx_cpu" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
	else
		nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
	fi
	nginx_pid=$!
	for _ in $(seq 50); do port_free "$port" || break; sleep 0.1; done
	port_free "$port" && { echo "nginx did not start; see $dir/error.log" >&2; exit 2; }
	URL="http://127.0.0.1:$port/"
	log "nginx (pid $nginx_pid, CPUs ${nginx_cpu:-any}) serving $URL"
}

stop_nginx() {
	[ -n "$nginx_pid" ] || return 0
	kill -TERM "$nginx_pid" 2>/dev/null || true
	wait "$nginx_pid" 2>/dev/null || true
	nginx_pid=""
}

# cpu_busy: share of all CPUs busy over one second, in percent, from /proc/stat.
cpu_busy() {
	local a b
	a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
	sleep 1
	b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2]; print (d > 0 ? int(100 * (y[1] - x[1]) / d) : 0) }'
}

# wait_quiet: the machine is shared; wait (up to $quiet_wait s) until less
# than 15% of it is busy, and note how busy it was.
wait_quiet() {
	local busy waited=0
	busy=$(cpu_busy)
	while [ "$busy" -ge 15 ] && [ "$waited" -lt "$quiet_wait" ]; do
		sleep 4
		waited=$((waited + 5))
		busy=$(cpu_busy)
	done
	[ "$busy" -lt 15 ] || log "machine still ${busy}% busy after ${waited}s; running anyway"
	echo "$busy"
}

# --- the tools ---------------------------------------------------------------

TIMEFMT='%e %U %S %M' # wall s, user s, sys s, max RSS KiB

# run_ours RATE SECONDS DIR [extra flags]: deploy-load-check as the action
# runs it, with its defaults (10% of requests on fresh connections).
run_ours() { run_ours_as ours "$@"; }

# run_ourska RATE SECONDS DIR: every request on a kept-alive connection, the
# same work vegeta and k6 do.
run_ourska() { run_ours_as ourska "$@" --fresh-connection-rate 0%; }

# run_ours_as NAME RATE SECONDS DIR [extra flags]
run_ours_as() {
	local name=$1 rate=$2 secs=$3 dir=$4
	shift 4
	# The binary writes its JSON report into the working directory: keep
	# it with the run's other files. Exit 1 is a threshold breach, fine
	# here; 2 is a setup error.
	(
		cd "$dir"
		# shellcheck disable=SC2086
		env -u GITHUB_ACTIONS GITHUB_OUTPUT="$dir/$name.out" GITHUB_STEP_SUMMARY="$dir/$name.md" ${ours_env//,/ } \
			timeout -k 5 $((secs + 30)) /usr/bin/time -f "$TIMEFMT" -o "$dir/$name.time" $(pin_tools) \
			"$tools/deploy-load-check" --targets "GET $URL" --rate "$rate/1s" --duration "${secs}s" \
			$(rate_flags "$tools/deploy-load-check" "$rate") --max-error-rate 100% "$@" >"$dir/$name.log" 2>&1 || [ $? = 1 ]
	)
}

# run_variant_N RATE SECONDS DIR: ab's variant number N (see cmd_ab).
run_variant() {
	local n=$1 rate=$2 secs=$3 dir=$4 name bin envs
	IFS=: read -r name bin envs <<<"${variants[$n]}"
	(
		cd "$dir"
		# shellcheck disable=SC2086
		env -u GITHUB_ACTIONS GITHUB_OUTPUT="$dir/$name.out" GITHUB_STEP_SUMMARY="$dir/$name.md" ${envs//,/ } \
			timeout -k 5 $((secs + 30)) /usr/bin/time -f "$TIMEFMT" -o "$dir/$name.time" $(pin_tools) \
			"$bin" --targets "GET $URL" --rate "$rate/1s" --duration "${secs}s" \
			$(rate_flags "$bin" "$rate") --max-error-rate 100% >"$dir/$name.log" 2>&1 || [ $? = 1 ]
	)
}

# run_vegeta RATE SECONDS DIR: the CLI as documented, attack piped to report.
run_vegeta() {
	local rate=$1 secs=$2 dir=$3
	echo "GET $URL" |
		timeout -k 5 $((secs + 30)) /usr/bin/time -f "$TIMEFMT" -o "$dir/vegeta-attack.time" $(pin_tools) \
			"$tools/vegeta" attack -rate="$rate/s" -duration="${secs}s" -timeout=10s 2>"$dir/vegeta-attack.log" |
		timeout -k 5 $((secs + 40)) /usr/bin/time -f "$TIMEFMT" -o "$dir/vegeta-report.time" $(pin_tools) \
			"$tools/vegeta" report -type=json >"$dir/vegeta.json" 2>"$dir/vegeta-report.log"
}

# run_k6 RATE SECONDS DIR: constant-arrival-rate, bodies discarded.
run_k6() {
	local rate=$1 secs=$2 dir=$3
	K6_NO_USAGE_REPORT=true K6_AUTO_EXTENSION_RESOLUTION=false \
		timeout -k 5 $((secs + 60)) /usr/bin/time -f "$TIMEFMT" -o "$dir/k6.time" $(pin_tools) \
		"$tools/k6" run --quiet --no-color --address "" \
		-e URL="$URL" -e RATE="$rate" -e DURATION="${secs}s" -e SUMMARY="$dir/k6.json" \
		"$src/bench/k6.js" >"$dir/k6.log" 2>&1
}

# busy_jiffies: CPU time used on the whole machine so far, in clock ticks.
busy_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }

# nginx_jiffies: CPU time of nginx's processes so far, in clock ticks.
nginx_jiffies() {
	local pids
	pids="$nginx_pid $(pgrep -P "$nginx_pid" 2>/dev/null | tr '\n' ' ')"
	# shellcheck disable=SC2086
	cat $(printf '/proc/%s/stat ' $pids) 2>/dev/null | awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}

# tool_cpu NAME DIR: the tool's user+sys seconds from its time file(s).
tool_cpu() {
	local f files
	case $1 in
	vegeta) files="$2/vegeta-attack.time $2/vegeta-report.time" ;;
	*) files="$2/$1.time" ;;
	esac
	for f in $files; do tail -1 "$f"; done | awk '{ t += $2 + $3 } END { print t + 0 }'
}

# measured TOOL RATE SECONDS DIR: one run, retried (up to 3 times) when other
# processes on this shared machine took more than 20% of a CPU during it.
# The CPU others used is kept in DIR/TOOL.noise for the record.
measured() {
	local tool=$1 rate=$2 secs=$3 dir=$4 try busy b0 b1 n0 n1 others hz
	hz=$(getconf CLK_TCK)
	for try in 1 2 3 4; do
		busy=$(wait_quiet)
		b0=$(busy_jiffies) n0=$(nginx_jiffies)
		local t0=$SECONDS
		"run_$tool" "$rate" "$secs" "$dir" || log "$tool failed; see $dir"
		b1=$(busy_jiffies) n1=$(nginx_jiffies)
		others=$(awk -v b="$((b1 - b0))" -v n="$((n1 - n0))" -v t="$(tool_cpu "$tool" "$dir")" -v hz="$hz" -v w="$((SECONDS - t0))" \
			'BEGIN { o = (b - n) / hz - t; if (o < 0) o = 0; printf "%.2f %.2f %.2f", o, (w > 0 ? o / w : 0), n / hz }')
		echo "try=$try busy_before=$busy others_cpu_s,others_per_s,nginx_cpu_s=$others" >"$dir/$tool.noise"
		log "rate $rate/s: $tool try $try: machine ${busy}% busy before; others used ${others%% *} CPU s during it"
		awk -v x="$(echo "$others" | cut -d' ' -f2)" 'BEGIN { exit !(x <= 0.20) }' && return 0
	done
	log "$tool at $rate/s: the machine stayed busy; keeping the last try (see $dir/$tool.noise)"
}

cmd_cpu() {
	start_nginx
	log "CPU comparison: rates $rates /s, ${duration}s runs, $repeats repeats, tool order rotated"
	local rate rep i tool
	local order=(ours vegeta k6 ourska)
	# One unmeasured run each, so page cache and connection setup are warm.
	local warm="$out/cpu-warmup"
	mkdir -p "$warm"
	for tool in "${order[@]}"; do "run_$tool" 500 2 "$warm"; done
	for rate in $rates; do
		for rep in $(seq "$repeats"); do
			local dir="$out/cpu/$rate/$rep"
			mkdir -p "$dir"
			for i in 0 1 2 3; do
				# Rotation: repeat 1 runs ours, vegeta, k6, ourska; repeat 2
				# vegeta, k6, ourska, ours; and so on, so that no tool always
				# runs first or right after the same neighbour.
				tool=${order[$(((rep - 1 + i) % 4))]}
				echo "$tool" >>"$dir/order"
				measured "$tool" "$rate" "$duration" "$dir"
			done
		done
	done
	stop_nginx
	"$tools/benchtable" -dir "$out/cpu" -duration "${duration}s" | tee "$out/cpu-table.md"
}

cmd_ab() {
	[ ${#variants[@]} -ge 2 ] || { echo "ab needs two --variant NAME:BIN[:ENV=V,...]" >&2; exit 2; }
	start_nginx
	local rate rep i n=${#variants[@]} k name
	# Variant names must be shell identifiers: each gets a run_NAME.
	for k in $(seq 0 $((n - 1))); do
		name=${variants[$k]%%:*}
		[[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { echo "variant name \"$name\" is not an identifier" >&2; exit 2; }
		eval "run_$name() { run_variant $k \"\$@\"; }"
	done
	for k in $(seq 0 $((n - 1))); do "run_${variants[$k]%%:*}" 500 2 "$out"; done # warm-up
	for rate in $rates; do
		for rep in $(seq "$repeats"); do
			local dir="$out/ab/$rate/$rep"
			mkdir -p "$dir"
			for i in $(seq 0 $((n - 1))); do
				k=$(((rep - 1 + i) % n))
				name=${variants[$k]%%:*}
				echo "$name" >>"$dir/order"
				measured "$name" "$rate" "$duration" "$dir"
			done
		done
	done
	stop_nginx
	{
		echo "| variant | rate | CPU ms per 1k requests (median) | vs first | per repeat | peak RSS (median) |"
		echo "|---|---|---|---|---|---|"
		for rate in $rates; do
			local base=""
			for k in $(seq 0 $((n - 1))); do
				name=${variants[$k]%%:*}
				# CPU ms per 1k requests per repeat: (user+sys) * 1e6 / requests.
				local per
				per=$(for f in "$out/ab/$rate"/*/"$name.time"; do
					d=$(dirname "$f")
					[ -s "$d/$name.out" ] || continue # the run failed
					req=$(awk '/^requests<</{getline; print; exit}' "$d/$name.out")
					tail -1 "$f" | awk -v r="$req" '{ printf "%.1f %d\n", ($2 + $3) * 1e6 / r, $4 }'
				done)
				local med rss
				med=$(echo "$per" | awk '{print $1}' | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
				rss=$(echo "$per" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print int(((NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2) / 1024)}')
				base=${base:-$med}
				echo "| $name | $rate/s | $med | $(awk -v m="$med" -v b="$base" 'BEGIN{printf "%.3f", m / b}') | $(echo "$per" | awk '{print $1}' | paste -sd' ') | $rss MiB |"
			done
		done
	} | tee "$out/ab-table.md"
}

cmd_memory() {
	start_nginx
	local d secs
	for d in "$short" "$long"; do
		secs=$(go_duration_seconds "$d")
		local dir="$out/memory/$d"
		mkdir -p "$dir"
		wait_quiet >/dev/null
		log "memory: ours at $mem_rate/s for $d"
		# Sample RSS every 5 s, to show its shape, not only its peak.
		(
			sleep 2
			while pid=$(pgrep -n -f "^$tools/deploy-load-check --targets GET $URL") 2>/dev/null; do
				echo "$(date +%s) $(awk '/VmRSS/{print $2}' "/proc/$pid/status" 2>/dev/null)" >>"$dir/rss-samples.txt"
				sleep 5
			done
		) &
		local sampler=$!
		run_ours "$mem_rate" "$secs" "$dir"
		wait "$sampler" 2>/dev/null || true
	done
	stop_nginx
	local s l
	s=$(awk '{print $4}' "$out/memory/$short/ours.time" | tail -1)
	l=$(awk '{print $4}' "$out/memory/$long/ours.time" | tail -1)
	{
		echo "| run | rate | peak RSS |"
		echo "|---|---|---|"
		echo "| $short | $mem_rate/s | $((s / 1024)) MiB ($s KiB) |"
		echo "| $long | $mem_rate/s | $((l / 1024)) MiB ($l KiB) |"
		awk -v s="$s" -v l="$l" 'BEGIN { r = l / s; printf "\n%s/%s peak RSS ratio: %.3f (target: within 10%%: %s)\n", "long", "short", r, (r <= 1.10 && r >= 0.90) ? "met" : "not met" }'
	} | tee "$out/memory-table.md"
}

cmd_memtrace() {
	local dir="$out/memtrace" secs
	mkdir -p "$dir"
	secs=$(go_duration_seconds "$long")
	start_nginx
	wait_quiet >/dev/null
	log "memtrace: generator and recorder at $mem_rate/s for $long, memory every 10s"
	timeout -k 5 $((secs + 60)) $(pin_tools) "$tools/profile" -url "$URL" -rate "$mem_rate" -duration "${secs}s" \
		-memtrace 10s | tee "$dir/memtrace.txt"
	stop_nginx
}

go_duration_seconds() {
	case "$1" in
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}

cmd_accuracy() {
	local dir="$out/accuracy"
	mkdir -p "$dir"
	# The bench server numbers requests by X-Vegeta-Seq, which our binary
	# sends: request n sleeps 600 ms when n mod 200 < 3, else 5 ms.
	"$tools/benchserver" -addr 127.0.0.1:0 -addr-file "$dir/addr" -log "$dir/server.csv" \
		-max-life $((acc_duration + 120))s 2>"$dir/server.log" &
	server_pid=$!
	for _ in $(seq 50); do [ -s "$dir/addr" ] && break; sleep 0.1; done
	URL="http://$(cat "$dir/addr")/"
	wait_quiet >/dev/null
	log "accuracy: ours at $acc_rate/s for ${acc_duration}s on the bimodal server $URL"
	run_ours "$acc_rate" "$acc_duration" "$dir" --results-file "$dir/results.bin" --timeout 5s
	kill -TERM "$server_pid"
	wait "$server_pid" || true
	server_pid=""
	"$tools/accuracy" -results "$dir/results.bin" -outputs "$dir/ours.out" -server-log "$dir/server.csv" |
		tee "$out/accuracy-table.md"
}

cmd_startup() {
	local dir="$out/startup" ours="$tools/deploy-load-check"
	mkdir -p "$dir"
	wait_quiet >/dev/null
	log "start-up: process start to first request, 10 attempts each"
	# From the run's directory: the binary writes its JSON report there.
	(
		cd "$dir"
		# first_request may be a pre-flight probe; first_load_request is
		# the first request of the load itself (it carries X-Vegeta-Seq).
		# Builds whose pacer makes hit n due at (n+1)/rate send the first
		# load request one interval after the start: the 1/s case shows it.
		"$tools/startup" -n 10 -load-header X-Vegeta-Seq -name "deploy-load-check --rate 1000/1s" -- \
			"$ours" --targets "GET {url}" --rate 1000/1s --duration 5s
		"$tools/startup" -n 10 -load-header X-Vegeta-Seq -name "deploy-load-check --rate 10/1s (the default)" -- \
			"$ours" --targets "GET {url}" --rate 10/1s --duration 5s
		"$tools/startup" -n 5 -load-header X-Vegeta-Seq -name "deploy-load-check --rate 1/1s" -- \
			"$ours" --targets "GET {url}" --rate 1/1s --duration 5s
		"$tools/startup" -n 10 -load-header X-Vegeta-Seq -name "vegeta attack -rate 1000/s" -stdin "GET {url}" -- \
			"$tools/vegeta" attack -rate 1000/s -duration 5s
		K6_NO_USAGE_REPORT=true K6_AUTO_EXTENSION_RESOLUTION=false \
			"$tools/startup" -n 10 -name "k6 run (constant-arrival-rate 1000/s)" -- \
			"$tools/k6" run --quiet --address "" -e URL="{url}" -e RATE=1000 -e DURATION=5s \
			-e SUMMARY="$dir/k6.json" "$src/bench/k6.js"
	) | tee "$out/startup-table.md"
}

cmd_profile() {
	local dir="$out/profile" rate
	mkdir -p "$dir"
	start_nginx
	rate=$(echo "$rates" | awk '{print $NF}')
	wait_quiet >/dev/null
	log "profile: our generator and recorder at $rate/s for ${duration}s"
	timeout -k 5 $((duration + 30)) $(pin_tools) "$tools/profile" -url "$URL" -rate "$rate" -duration "${duration}s" -fresh 0 \
		-cpuprofile "$dir/cpu.pprof" -memprofile "$dir/allocs.pprof" -mutexprofile "$dir/mutex.pprof" | tee "$dir/profile.txt"
	stop_nginx
	(
		cd "$src"
		go tool pprof -top -nodecount=40 "$tools/profile" "$dir/cpu.pprof" >"$dir/cpu-top.txt" 2>/dev/null
		go tool pprof -top -cum -nodecount=60 "$tools/profile" "$dir/cpu.pprof" >"$dir/cpu-cum.txt" 2>/dev/null
		go tool pprof -top -sample_index=alloc_objects -nodecount=40 "$tools/profile" "$dir/allocs.pprof" >"$dir/allocs-top.txt" 2>/dev/null
		go tool pprof -top -nodecount=20 "$tools/profile" "$dir/mutex.pprof" >"$dir/mutex-top.txt" 2>/dev/null
		log "Go benchmarks of the hot paths"
		go test -run '^$' -bench . -benchmem -count 3 -benchtime 1s \
			-cpuprofile "$dir/bench-stats-cpu.pprof" ./internal/stats | tee "$dir/bench-stats.txt"
		go test -run '^$' -bench . -benchmem -count 3 -benchtime 1s \
			-cpuprofile "$dir/bench-load-cpu.pprof" ./internal/load | tee "$dir/bench-load.txt"
	)
	echo "profiles and top lists in $dir"
}

main() {
	install_peers
	local c
	for c in "${commands[@]}"; do "cmd_$c"; done
	log "raw files in $out"
}

# On one line, so that bash has read all it will run before it runs it: the
# script can be edited while a long run is going.
main; exit $?
