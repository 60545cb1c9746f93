#!/usr/bin/env bash
# Shards on one machine: N shard processes, each holding the single-shard
# rate (so N times it together), against one loopback server, then the
# merge of their reports. Prints, for each N, the rate asked and held by
# the shards together, the CPU they used, and the merge's verdict.
#
#   bench/shards.sh [PER_SHARD_RATE] [SECONDS] [N...]
#   bench/shards.sh 1500 10 1 2 3
#
# TLS=1 serves HTTPS (a self-signed certificate the shards trust through
# SSL_CERT_FILE); FRESH sets fresh-connection-rate (default 0%, every
# request kept alive; the action's default is 10%), each fresh connection
# then paying a TCP and, with TLS=1, a TLS handshake.
set -euo pipefail
cd "$(dirname "$0")/.."

per_shard=${1:-1500}
seconds=${2:-10}
shift $(( $# > 2 ? 2 : $# ))
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1 2 3)

work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/dlc" .
go build -o "$work/server" ./bench/cmd/benchserver
fresh=${FRESH:-0%}
scheme=http
server_args=(-addr-file "$work/addr" -fast 1ms -slow 1ms -max-life 30m)
if [ "${TLS:-0}" = 1 ]; then
  scheme=https
  server_args+=(-tls-cert "$work/cert.pem")
fi
"$work/server" "${server_args[@]}" &
server=$!
for _ in $(seq 100); do [ -s "$work/addr" ] && break; sleep 0.05; done
url="$scheme://$(cat "$work/addr")/"
echo "$url, fresh-connection-rate $fresh, GOMAXPROCS=1 per shard" >&2

printf '| shards | rate asked | rate held | CPU s (user+sys) | merged requests | verdict |\n|---|---|---|---|---|---|\n'
for n in "${counts[@]}"; do
  total=$((per_shard * n))
  dir="$work/n$n"
  mkdir -p "$dir"
  pids=()
  for i in $(seq "$n"); do
    (cd "$dir" && env -i PATH="$PATH" HOME="$dir" GOMAXPROCS=1 SSL_CERT_FILE="$work/cert.pem" /usr/bin/time -f '%U %S' -o "time-$i" "$work/dlc" \
      --targets "$url" --rate "$total/1s" --max-rate "$total/1s" --duration "${seconds}s" \
      --shard "$i/$n" --shard-key "bench-$n" --report-file "shard-$i.json" \
      --fresh-connection-rate "$fresh" --preflight-timeout 5s >"log-$i" 2>&1) &
    pids+=($!)
  done
  wait "${pids[@]}"
  cpu=$(cat "$dir"/time-* | awk '{s += $1 + $2} END {printf "%.2f", s}')
  (cd "$dir" && env -i PATH="$PATH" HOME="$dir" "$work/dlc" --merge 'shard-*.json' --report-file merged.json \
    --max-downtime '' --max-error-rate 100% >merge.log 2>&1) || true
  read -r requests held verdict < <(python3 - "$dir/merged.json" "$seconds" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
g = r["generator"]
held = g["sent"] / g["scheduled"] * 100 if g["scheduled"] else 0
print(r["requests"], "%.2f%%" % held, r["verdict"])
PY
)
  printf '| %d | %d/s | %s | %s | %s | %s |\n' "$n" "$total" "$held" "$cpu" "$requests" "$verdict"
done
