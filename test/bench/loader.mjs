// HTTP load generator, run as its own process so it never shares a CPU with the vault's event loop.
// Usage: node loader.mjs '{"base":"http://127.0.0.1:8443","key":"…","op":"get","connections":8,"seconds":10,"entries":100000}'
// Prints one JSON line: { op, connections, requests, errors, rps, p50_ms, p99_ms, statuses }.
import { Agent, request } from 'node:http';

const o = JSON.parse(process.argv[2]);
const url = new URL(o.base);
const agent = new Agent({ keepAlive: true, maxSockets: o.connections });
const latencies = [];
const statuses = {};
let errors = 0;
let putCounter = 0;
const deadline = Date.now() + o.seconds * 1000;
const warmupEnd = Date.now() + (o.warmupSeconds ?? 1) * 1000;
const value = JSON.stringify({ encrypted_value: 'vault:v1:AES256-GCM:keyid=7:' + 'Q'.repeat(120), key_ref: 'kms:card-key-v7' });

function once() {
  const id = 1 + Math.floor(Math.random() * o.entries);
  let method = 'GET';
  let path = `/vault/card/payment-${id}`;
  let body;
  if (o.op === 'head') method = 'HEAD';
  if (o.op === 'list') path = `/vault/card?limit=50`;
  if (o.op === 'put') {
    method = 'PUT';
    path = `/vault/card/bench-${process.pid}-${o.connections}-${putCounter++}`;
    body = value;
  }
  const headers = { 'X-Vault-Key': o.key };
  if (body) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = Buffer.byteLength(body);
  }
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = request({ host: url.hostname, port: url.port, method, path, headers, agent }, (res) => {
      res.on('data', () => {});
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        if (Date.now() > warmupEnd) {
          latencies.push(ms);
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        }
        resolve();
      });
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
    if (body) req.write(body);
    req.end();
  });
}

async function worker() {
  while (Date.now() < deadline) await once();
}

const started = Date.now();
await Promise.all(Array.from({ length: o.connections }, worker));
const seconds = (Date.now() - Math.max(started, warmupEnd)) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
console.log(
  JSON.stringify({
    op: o.op,
    connections: o.connections,
    requests: latencies.length,
    errors,
    rps: Math.round(latencies.length / seconds),
    p50_ms: Number(pct(50).toFixed(3)),
    p99_ms: Number(pct(99).toFixed(3)),
    statuses,
  }),
);
agent.destroy();
