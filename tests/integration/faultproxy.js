#!/usr/bin/env node
// A small fault-injecting HTTP reverse proxy for the S3 integration tests.
// It forwards every request to --target unchanged (Host header kept, so
// SigV4 signatures stay valid) and, on every Nth request, injects one fault,
// cycling through --faults:
//   drop      read the request, then close the connection without answering
//   503       answer 503 SlowDown (an S3 error body)
//   500       answer 500 InternalError
//   stall     read the request, answer nothing for --stall-ms, then close
//   truncate  forward the response but cut its body in half
//   corrupt   forward the response with one byte of a GET's 2xx body flipped
//             (same length, headers intact: only a checksum can tell)
//   copyerr   a CopyObject / UploadPartCopy (x-amz-copy-source) is not forwarded
//             and answered 200 with an <Error> body, as S3 and RGW may do
//   copyempty the same, answered 200 with an empty body (other requests pass
//             these two faults unharmed; with only these two, N counts copies)
// --hold 'METHOD PATH' holds the first request with that method and path
// (read, not forwarded) until GET /__faultproxy/release; stats then say
// held: 1 and held_status (the status the target gave it): the race tests.
// Prints "listening PORT" when ready. GET /__faultproxy/stats returns counts
// (put_payload: PUTs by x-amz-content-sha256 kind, "+md5" with Content-MD5).
// No npm packages: node's http module only.
'use strict';
const http = require('http');

const args = process.argv.slice(2);
const opt = { listen: 0, target: 'http://127.0.0.1:8000', every: 3, faults: 'drop,503,stall,truncate,500', stallMs: 3000, hold: '' };
for (let i = 0; i < args.length; i += 2) {
  const k = args[i].replace(/^--/, ''), v = args[i + 1];
  if (k === 'listen') opt.listen = +v;
  else if (k === 'target') opt.target = v;
  else if (k === 'every') opt.every = +v;
  else if (k === 'faults') opt.faults = v;
  else if (k === 'stall-ms') opt.stallMs = +v;
  else if (k === 'hold') opt.hold = v;
  else { console.error('faultproxy: unknown option ' + args[i]); process.exit(2); }
}
const target = new URL(opt.target);
const faults = opt.faults.split(',').filter(Boolean);
const copyOnly = faults.length > 0 && faults.every((f) => f === 'copyerr' || f === 'copyempty');
const stats = { requests: 0, forwarded: 0, injected: {}, held: 0, held_status: 0, put_payload: {} };
let seq = 0, which = 0, release = null, released = false;

function s3error(res, status, code) {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code>` +
    `<Message>injected by faultproxy</Message><RequestId>faultproxy-${seq}</RequestId></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  if (req.url === '/__faultproxy/stats') {
    const b = JSON.stringify(stats);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': b.length });
    return res.end(b);
  }
  if (req.url === '/__faultproxy/release') {
    released = true;
    if (release) { const r = release; release = null; r(); }
    res.writeHead(200, { 'Content-Length': 2 });
    return res.end('ok');
  }
  stats.requests++;
  if (req.method === 'PUT') {
    // how the payload was vouched for: UNSIGNED-PAYLOAD or a signed SHA-256, and Content-MD5
    const h = req.headers['x-amz-content-sha256'] || 'none';
    const kind = (/^[0-9a-f]{64}$/.test(h) ? 'sha256' : h) + (req.headers['content-md5'] ? '+md5' : '');
    stats.put_payload[kind] = (stats.put_payload[kind] || 0) + 1;
  }
  // With only copy faults, every Nth *copy* is faulted: counting all requests
  // could lock step with a retry loop (say a listing and a copy per attempt)
  // and fault every attempt of one file.
  const isCopy = !!req.headers['x-amz-copy-source'];
  if (!copyOnly || isCopy) seq++;
  let fault = faults.length && opt.every > 0 && (!copyOnly || isCopy) && seq % opt.every === 0
    ? faults[which++ % faults.length] : null;
  if ((fault === 'copyerr' || fault === 'copyempty') && !isCopy) fault = null;
  if (fault) stats.injected[fault] = (stats.injected[fault] || 0) + 1;
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (fault === 'drop') return req.socket.destroy();
    if (fault === 'stall') return setTimeout(() => req.socket.destroy(), opt.stallMs);
    if (fault === '503') return s3error(res, 503, 'SlowDown');
    if (fault === '500') return s3error(res, 500, 'InternalError');
    if (fault === 'copyerr') return s3error(res, 200, 'InternalError');
    if (fault === 'copyempty') { res.writeHead(200, { 'Content-Length': 0 }); return res.end(); }
    const body = Buffer.concat(chunks);
    const held = opt.hold && !stats.held && `${req.method} ${req.url}` === opt.hold;
    if (held) stats.held = 1;
    const forward = () => {
      const up = http.request({
        host: target.hostname, port: target.port, method: req.method, path: req.url,
        headers: req.headers,
      }, (ur) => {
        stats.forwarded++;
        if (held) stats.held_status = ur.statusCode;
        res.writeHead(ur.statusCode, ur.headers);
        if (fault === 'corrupt' && req.method === 'GET' && ur.statusCode >= 200 && ur.statusCode < 300) {
          const got = [];
          ur.on('data', (c) => got.push(c));
          ur.on('end', () => {
            const all = Buffer.concat(got);
            if (all.length) all[all.length >> 1] ^= 0x5a;
            res.end(all);
          });
        } else if (fault === 'truncate') {
          const got = [];
          ur.on('data', (c) => got.push(c));
          ur.on('end', () => {
            const all = Buffer.concat(got);
            if (all.length < 2) return req.socket.destroy();
            res.write(all.subarray(0, all.length >> 1), () => req.socket.destroy());
          });
        } else {
          ur.pipe(res);
        }
      });
      up.on('error', () => req.socket.destroy());
      up.end(body);
    };
    if (held && !released) release = forward;
    else forward();
  });
});
server.keepAliveTimeout = 30000;
server.listen(opt.listen, '127.0.0.1', () => {
  console.log('listening ' + server.address().port);
});
process.on('SIGTERM', () => process.exit(0));
