#!/usr/bin/env bash
# Checks that results-file is read by the real vegeta: installs vegeta
# v12.13.0, runs a short PR check against a loopback server, then runs
# `vegeta report` and `vegeta plot` on the file the check wrote. Fails if
# either fails, or if vegeta counts other than the check's `requests` output.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tools go into a cache of their own, never into the module or GOPATH/bin.
VEGETA_VERSION=v12.13.0
tools="${XDG_CACHE_HOME:-$HOME/.cache}/deploy-load-check/tools/vegeta-$VEGETA_VERSION"
if [ ! -x "$tools/vegeta" ]; then
  echo "--- installing vegeta $VEGETA_VERSION"
  mkdir -p "$tools"
  # Outside the module, so go.mod and go.sum stay as they are.
  (cd "$tools" && GOBIN="$tools" GOFLAGS='' go install "github.com/tsenart/vegeta/v12@$VEGETA_VERSION")
fi
vegeta="$tools/vegeta"

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "--- building the check and a loopback server"
go build -o "$work/deploy-load-check" .
# The server listens on a free loopback port and prints its address.
mkdir -p "$work/server"
cat > "$work/server/main.go" <<'EOF'
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(l.Addr())
	http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }))
}
EOF
(cd "$work/server" && GOFLAGS='' go build -o server main.go)
"$work/server/server" > "$work/addr" &
server_pid=$!
for _ in $(seq 100); do
  [ -s "$work/addr" ] && break
  sleep 0.1
done
addr=$(head -n1 "$work/addr")
case "$addr" in
  127.0.0.1:*) ;;
  *) echo "the loopback server did not start"; exit 1 ;;
esac

echo "--- a PR check against http://$addr/"
touch "$work/outputs"
status=0
(cd "$work" && GITHUB_OUTPUT="$work/outputs" ./deploy-load-check \
  --targets "http://$addr/" --rate 50/1s --duration 3s \
  --results-file "$work/results.bin" --report-file "$work/report.json" > "$work/summary.md") || status=$?
# 1 is a threshold that failed on a busy machine; the file is written all the same.
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
  echo "the check exited $status"; cat "$work/summary.md"; exit 1
fi
# go-githubactions writes name<<DELIMITER, the value, DELIMITER.
requests=$(awk '/^requests<</ { getline; print; exit }' "$work/outputs")
if ! [[ "$requests" =~ ^[0-9]+$ ]] || [ "$requests" -eq 0 ]; then
  echo "the check's requests output is \"$requests\""; cat "$work/outputs"; exit 1
fi

echo "--- vegeta report"
"$vegeta" report "$work/results.bin"
counted=$("$vegeta" report -type=json "$work/results.bin" | grep -o '"requests":[0-9]*' | cut -d: -f2)
if [ "$counted" != "$requests" ]; then
  echo "vegeta report counts $counted requests; the check's requests output is $requests"; exit 1
fi

echo "--- vegeta plot"
"$vegeta" plot "$work/results.bin" > "$work/plot.html"
if ! grep -qi '<html' "$work/plot.html"; then
  echo "vegeta plot wrote no HTML"; exit 1
fi
echo "vegeta report and vegeta plot read $requests requests from the results file"
