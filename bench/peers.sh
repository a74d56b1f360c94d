#!/usr/bin/env bash
# Optional side-by-side: bench/blocking.py's load (validated blocking POST /v1/chat-messages, wrk, 16
# connections) against this mock, the naive reference handler, Prism and WireMock. Prism and WireMock
# come from npm into a temporary folder that is removed at the end; Prism mocks the mock's own OpenAPI
# document, WireMock answers one stub of the same body. Loopback only; each server is pinned to CPU 0
# and wrk to CPU 1 for DURATION seconds (default 5); everything it started stops when it ends.
# Prints a Markdown table: requests/s, p50, and the ratio to the reference handler.
set -euo pipefail
duration=${DURATION:-5}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
python=${PYTHON:-$root/.venv/bin/python}  # the README's venv; PYTHON=... for another one
[ -x "$python" ] || python=python3
for tool in wrk npm java taskset curl; do
  command -v "$tool" >/dev/null || { echo "peers.sh needs $tool" >&2; exit 2; }
done
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== installing @stoplight/prism-cli and wiremock into $work (npm)" >&2
npm install --prefix "$work" --silent --no-audit --no-fund @stoplight/prism-cli wiremock >/dev/null

"$python" -m mockserver openapi > "$work/openapi.json"
body='{"inputs": {}, "query": "hi", "user": "bench"}'
answer='{"event": "message", "task_id": "t", "id": "m", "message_id": "m", "conversation_id": "c", "mode": "chat", "answer": "Hello", "metadata": {}, "created_at": 0}'
mkdir -p "$work/wiremock/mappings"
cat > "$work/wiremock/mappings/chat.json" <<EOF
{"request": {"method": "POST", "url": "/v1/chat-messages"},
 "response": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": $(printf '%s' "$answer" | "$python" -c 'import json,sys; print(json.dumps(sys.stdin.read()))')}}
EOF
cat > "$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = [==[$body]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer app-chat"
EOF

start() {  # name port command...: start a pinned server and wait until it answers on the port
  local name=$1 port=$2; shift 2
  taskset -c 0 "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 120); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  echo "$name did not start; its log:" >&2; tail -20 "$work/$name.log" >&2; exit 1
}

start mock 5301 "$python" -m mockserver serve --port 5301 --quiet
start reference 5302 "$python" "$here/_reference_server.py" --port 5302
start prism 5303 "$work/node_modules/.bin/prism" mock -h 127.0.0.1 -p 5303 "$work/openapi.json"
start wiremock 5304 "$work/node_modules/.bin/wiremock" --port 5304 --bind-address 127.0.0.1 --root-dir "$work/wiremock" --disable-banner

measure() {  # name port -> "req/s p50"
  local out
  taskset -c 1 wrk -t1 -c16 -d1s -s "$work/post.lua" "http://127.0.0.1:$2/v1/chat-messages" >/dev/null  # warm-up
  out=$(taskset -c 1 wrk -t1 -c16 "-d${duration}s" --latency -s "$work/post.lua" "http://127.0.0.1:$2/v1/chat-messages")
  local rps p50 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  echo "$1 $rps $p50 ${non2xx:-0}"
}

results=()
for entry in mock:5301 reference:5302 prism:5303 wiremock:5304; do
  results+=("$(measure "${entry%%:*}" "${entry##*:}")")
done
reference_rps=$(printf '%s\n' "${results[@]}" | awk '$1 == "reference" {print $2}')
echo
echo "Blocking POST /v1/chat-messages, wrk 16 connections, ${duration} s, servers on CPU 0 ($(date -u +%F)):"
echo
echo "| server | req/s | p50 | non-2xx | ratio to the reference handler |"
echo "|---|---|---|---|---|"
for line in "${results[@]}"; do
  read -r name rps p50 non2xx <<<"$line"
  ratio=$(awk -v a="$rps" -v b="$reference_rps" 'BEGIN {printf "%.2f", a / b}')
  echo "| $name | $rps | $p50 | $non2xx | $ratio |"
done
