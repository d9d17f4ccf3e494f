#!/bin/bash
# Start the nginx peer in the foreground (master + ONE worker).
#
# usage: nginx.sh [PORT [DELAY_MIN_MS [DELAY_MAX_MS]]]
#   or env PORT, DELAY_MIN_MS, DELAY_MAX_MS (defaults 18082, 500, 2000).
# DELAY_MAX_MS=0 selects the zero-delay variant (no echo_sleep at all).
# The runtime directory (rendered config, pid, error.log) is $NGINX_PREFIX,
# default /tmp/userd-bench-nginx-PORT. exec's nginx, so $! of the caller is
# the master pid.
set -euo pipefail

port=${1:-${PORT:-18082}}
dmin=${2:-${DELAY_MIN_MS:-500}}
dmax=${3:-${DELAY_MAX_MS:-2000}}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=${NGINX_PREFIX:-/tmp/userd-bench-nginx-$port}
nginx_bin=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

for v in "$port" "$dmin" "$dmax"; do
    [[ $v =~ ^[0-9]+$ ]] || { echo "nginx.sh: not a number: $v" >&2; exit 2; }
done
if (( dmin > dmax )); then
    echo "nginx.sh: delay min > max" >&2; exit 2
fi

mkdir -p "$prefix"
: > "$prefix/error.log"   # fresh log for every start

# Dynamic modules: ndk must come before lua. Use Debian's module dir.
moddir=/usr/lib/nginx/modules
modules=""
for m in ndk_http_module ngx_http_echo_module ngx_http_lua_module; do
    [[ -f $moddir/$m.so ]] || { echo "nginx.sh: missing $moddir/$m.so" >&2; exit 1; }
    modules+="load_module $moddir/$m.so;"$'\n'
done

user=""
(( EUID == 0 )) && user="user root;"

# ms -> seconds as a decimal string
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

if (( dmax > 0 )); then
    tmpl=$(<"$here/nginx.conf.in")
else    # zero delay: no delay draw, no echo_sleep
    tmpl=$(sed '/# BEGIN delay/,/# END delay/d' "$here/nginx.conf.in")
fi
conf=${tmpl//@MODULES@/$modules}
conf=${conf//@USER@/$user}
conf=${conf//@PREFIX@/$prefix}
conf=${conf//@PORT@/$port}
conf=${conf//@DELAY_MIN@/$(secs "$dmin")}
conf=${conf//@DELAY_MAX@/$(secs "$dmax")}
printf '%s\n' "$conf" > "$prefix/nginx.conf"

# -e: error log before the config is read (nginx >= 1.19.5)
exec "$nginx_bin" -p "$prefix" -e "$prefix/error.log" -c "$prefix/nginx.conf"
