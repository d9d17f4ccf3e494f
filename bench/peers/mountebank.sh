#!/bin/bash
# Start the mountebank peer in the foreground: one HTTP imposter for
# GET /user/<id> (npm's "mountebank" package, on the machine's Node.js).
#
# usage: mountebank.sh [PORT [DELAY_MIN_MS [DELAY_MAX_MS]]]
#   or env PORT, DELAY_MIN_MS, DELAY_MAX_MS (defaults 18086, 500, 2000).
# DELAY_MAX_MS=0 selects the zero-delay variant (no wait behaviour).
# The imposter (rendered into $MB_PREFIX, default /tmp/userd-bench-mb-PORT)
# draws the delay with a "wait" behaviour given as a JavaScript function and
# writes the body with "decorate" (both need --allowInjection). It sets
# "Connection: keep-alive", since mountebank answers "Connection: close"
# unless the response sets that header. No request recording (the
# default), no log file, log level warn. mountebank's admin API listens on
# MB_ADMIN_PORT (default PORT + 10000), 127.0.0.1 only.
# PIN_CPU=N runs it pinned to CPU N (bench/run pins with taskset itself).
# npm installs mountebank@2.9.1 into bench/.build/npm if it is not there.
# exec's node, so $! of the caller is the server's pid.
set -euo pipefail

port=${1:-${PORT:-18086}}
dmin=${2:-${DELAY_MIN_MS:-500}}
dmax=${3:-${DELAY_MAX_MS:-2000}}
admin=${MB_ADMIN_PORT:-$((port + 10000))}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=${MB_PREFIX:-/tmp/userd-bench-mb-$port}
npmdir=$here/../.build/npm

for v in "$port" "$dmin" "$dmax" "$admin"; do
    [[ $v =~ ^[0-9]+$ ]] || { echo "mountebank.sh: not a number: $v" >&2; exit 2; }
done
if (( dmin > dmax )); then
    echo "mountebank.sh: delay min > max" >&2; exit 2
fi

mb=$npmdir/node_modules/mountebank/bin/mb
if [[ ! -f $mb ]]; then
    mkdir -p "$npmdir"
    npm install --no-audit --no-fund --prefix "$npmdir" mountebank@2.9.1 >&2
fi
command -v node >/dev/null || { echo "mountebank.sh: node is missing" >&2; exit 1; }

behaviors='{"decorate": "function (config) { var id = config.request.path.split(\"/\")[2]; config.response.body = \"{\\\"user_id\\\": \" + id + \", \\\"name\\\": \\\"User\" + id + \"\\\", \\\"age\\\": \" + (20 + Math.floor(Math.random() * 21)) + \"}\"; }"}'
if (( dmax > 0 )); then
    behaviors="{\"wait\": \"function () { return $dmin + Math.random() * $((dmax - dmin)); }\"}, $behaviors"
fi
rm -rf "$prefix"
mkdir -p "$prefix"
cat > "$prefix/imposters.json" <<JSON
{
  "imposters": [{
    "protocol": "http",
    "port": $port,
    "host": "127.0.0.1",
    "recordRequests": false,
    "defaultResponse": {"statusCode": 404, "headers": {"Connection": "keep-alive"}},
    "stubs": [{
      "predicates": [{"matches": {"method": "GET", "path": "^/user/[0-9]+$"}}],
      "responses": [{
        "is": {
          "statusCode": 200,
          "headers": {"Content-Type": "application/json", "Connection": "keep-alive"},
          "body": ""
        },
        "behaviors": [$behaviors]
      }]
    }]
  }]
}
JSON

pin=()
[[ -n ${PIN_CPU:-} ]] && pin=(taskset -c "$PIN_CPU")
exec "${pin[@]}" node "$mb" start --port "$admin" --host 127.0.0.1 --localOnly \
    --allowInjection --configfile "$prefix/imposters.json" --noParse \
    --nologfile --loglevel warn --pidfile "$prefix/mb.pid"
