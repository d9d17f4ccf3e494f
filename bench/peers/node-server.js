#!/usr/bin/env node
// Node.js peer for the userd benchmark: one process, `http` + setTimeout.
//
// usage: node node-server.js [PORT [DELAY_MIN_MS [DELAY_MAX_MS]]]
//    or env PORT, DELAY_MIN_MS, DELAY_MAX_MS (defaults 18083, 500, 2000).
// GET /user/<id> answers {"user_id": <id>, "name": "User<id>", "age": 20..40}
// after a delay uniform in [MIN, MAX] ms; MAX = 0 answers at once.
'use strict';
const http = require('http');

const num = (v, d) => (v === undefined || v === '' ? d : Number(v));
const port = num(process.argv[2] ?? process.env.PORT, 18083);
const dmin = num(process.argv[3] ?? process.env.DELAY_MIN_MS, 500);
const dmax = num(process.argv[4] ?? process.env.DELAY_MAX_MS, 2000);
const host = process.env.BIND || '127.0.0.1';
if (![port, dmin, dmax].every(Number.isInteger) || dmin < 0 || dmin > dmax) {
  console.error('node-server: bad PORT/DELAY_MIN_MS/DELAY_MAX_MS');
  process.exit(2);
}

const USER_RE = /^\/user\/(\d+)$/;

function reply(res, id) {
  const age = 20 + Math.floor(Math.random() * 21);
  const body = `{"user_id": ${id}, "name": "User${id}", "age": ${age}}`;
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const m = req.method === 'GET' && USER_RE.exec(req.url);
  if (!m) {
    res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': 10 });
    res.end('not found\n');
    return;
  }
  const id = m[1];
  if (dmax === 0) {
    reply(res, id);
  } else {
    setTimeout(reply, dmin + Math.random() * (dmax - dmin), res, id);
  }
});
// Keep idle keep-alive connections open for a long time (default is 5 s).
server.keepAliveTimeout = 300000;
server.headersTimeout = 301000;

// Large backlog (the kernel caps it at net.core.somaxconn); default is 511.
server.listen({ port, host, backlog: 65535 }, () => {
  console.error(`node ${process.version} listening on http://${host}:${port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
