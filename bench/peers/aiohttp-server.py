#!/usr/bin/python3
"""aiohttp peer for the userd benchmark: one process, asyncio.sleep.

usage: /usr/bin/python3 aiohttp-server.py [PORT [DELAY_MIN_MS [DELAY_MAX_MS]]]
   or env PORT, DELAY_MIN_MS, DELAY_MAX_MS (defaults 18084, 500, 2000).
GET /user/<id> answers {"user_id": <id>, "name": "User<id>", "age": 20..40}
after a delay uniform in [MIN, MAX] ms; MAX = 0 answers at once.
Meant for Debian's /usr/bin/python3 with python3-aiohttp (plain asyncio loop).
"""
import asyncio
import os
import random
import sys

import aiohttp
from aiohttp import web


def arg(i, env, default):
    v = sys.argv[i] if len(sys.argv) > i else os.environ.get(env, "")
    return int(v) if v != "" else default


PORT = arg(1, "PORT", 18084)
DMIN = arg(2, "DELAY_MIN_MS", 500) / 1000.0
DMAX = arg(3, "DELAY_MAX_MS", 2000) / 1000.0
HOST = os.environ.get("BIND", "127.0.0.1")
if DMIN < 0 or DMIN > DMAX:
    sys.exit("aiohttp-server: bad delay range")


async def user(request):
    uid = request.match_info["id"]
    if DMAX > 0:
        await asyncio.sleep(random.uniform(DMIN, DMAX))
    body = '{"user_id": %s, "name": "User%s", "age": %d}' % (
        uid, uid, random.randint(20, 40))
    return web.Response(text=body, content_type="application/json")


def main():
    app = web.Application()
    app.router.add_get(r"/user/{id:\d+}", user)
    print(f"aiohttp {aiohttp.__version__} listening on http://{HOST}:{PORT}",
          file=sys.stderr, flush=True)
    # access_log=None: no per-request logging; large listen backlog
    # (default 128, the kernel caps it at net.core.somaxconn).
    web.run_app(app, host=HOST, port=PORT, access_log=None, backlog=65535,
                print=None, keepalive_timeout=300.0)


if __name__ == "__main__":
    main()
