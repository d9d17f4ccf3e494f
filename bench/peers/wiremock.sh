#!/bin/bash
# Start the WireMock peer in the foreground: WireMock standalone (the jar
# bundled in npm's "wiremock" package) with one stub for GET /user/<id>.
#
# usage: wiremock.sh [PORT [DELAY_MIN_MS [DELAY_MAX_MS]]]
#   or env PORT, DELAY_MIN_MS, DELAY_MAX_MS (defaults 18085, 500, 2000).
# DELAY_MAX_MS=0 selects the zero-delay variant (no delayDistribution).
# Set up as a user after high concurrency would: asynchronous responses
# (a delayed answer holds no Jetty thread), no request journal, no request
# logging, a large accept queue. The stub (rendered into $WIREMOCK_PREFIX,
# default /tmp/userd-bench-wiremock-PORT) draws the delay with
# delayDistribution "uniform" and the body with a response template;
# randomInt's upper bound is exclusive, so 20..40 is lower=20 upper=41, and
# "~" ends the last tag so that "}}}" is not read as a triple-stash.
# PIN_CPU=N runs it pinned to CPU N (bench/run pins with taskset itself).
# WIREMOCK_JAR overrides the jar; otherwise npm installs wiremock@3.13.2
# into bench/.build/npm if it is not there. exec's java, so $! of the
# caller is the server's pid. JAVA_OPTS is passed to java.
set -euo pipefail

port=${1:-${PORT:-18085}}
dmin=${2:-${DELAY_MIN_MS:-500}}
dmax=${3:-${DELAY_MAX_MS:-2000}}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=${WIREMOCK_PREFIX:-/tmp/userd-bench-wiremock-$port}
npmdir=$here/../.build/npm

for v in "$port" "$dmin" "$dmax"; do
    [[ $v =~ ^[0-9]+$ ]] || { echo "wiremock.sh: not a number: $v" >&2; exit 2; }
done
if (( dmin > dmax )); then
    echo "wiremock.sh: delay min > max" >&2; exit 2
fi

jar=${WIREMOCK_JAR:-}
if [[ -z $jar ]]; then
    jar=$(ls "$npmdir"/node_modules/wiremock/build/wiremock-standalone-*.jar 2>/dev/null | head -n 1 || true)
    if [[ -z $jar ]]; then
        mkdir -p "$npmdir"
        npm install --no-audit --no-fund --prefix "$npmdir" wiremock@3.13.2 >&2
        jar=$(ls "$npmdir"/node_modules/wiremock/build/wiremock-standalone-*.jar | head -n 1)
    fi
fi
command -v java >/dev/null || { echo "wiremock.sh: java is missing" >&2; exit 1; }

if (( dmax > 0 )); then
    delay="\"delayDistribution\": {\"type\": \"uniform\", \"lower\": $dmin, \"upper\": $dmax},"
else
    delay=""
fi
rm -rf "$prefix"
mkdir -p "$prefix/mappings" "$prefix/__files"
cat > "$prefix/mappings/user.json" <<JSON
{
  "request": {"method": "GET", "urlPathPattern": "/user/[0-9]+"},
  "response": {
    "status": 200,
    "headers": {"Content-Type": "application/json"},
    $delay
    "body": "{\"user_id\": {{request.path.[1]}}, \"name\": \"User{{request.path.[1]}}\", \"age\": {{randomInt lower=20 upper=41~}}}",
    "transformers": ["response-template"]
  }
}
JSON

pin=()
[[ -n ${PIN_CPU:-} ]] && pin=(taskset -c "$PIN_CPU")
# shellcheck disable=SC2086 # JAVA_OPTS is a list of options
exec "${pin[@]}" java ${JAVA_OPTS:-} -jar "$jar" \
    --port "$port" --bind-address 127.0.0.1 --root-dir "$prefix" \
    --async-response-enabled true --no-request-journal \
    --disable-request-logging --disable-banner \
    --jetty-accept-queue-size 65535
