// HTTP load generator, run as its own process so it never shares a CPU with the vault's event loop.
// Usage: node loader.mjs '{"base":"http://127.0.0.1:8443","key":"…","op":"get","connections":8,"seconds":10,"entries":100000}'
// (ops batch-get and batch-put also take "batchSize": items per POST /vault/card/_batch)
// Prints one JSON line: { op, connections, requests, errors, rps, p50_ms, p99_ms, statuses, loader_cpu_ms }.
//
// It speaks HTTP/1.1 keep-alive over plain sockets (one request in flight per connection, no pipelining)
// instead of node:http's client: on a 2-core machine the client's own CPU is taken from the vault and
// the database, and node:http costs several times what writing prepared bytes and reading a status line
// and Content-Length does. Responses must carry Content-Length (the vault always sends it).
import { connect } from 'node:net';

const o = JSON.parse(process.argv[2]);
const url = new URL(o.base);
const latencies = [];
const statuses = {};
let errors = 0;
const deadline = Date.now() + o.seconds * 1000;
const warmupEnd = Date.now() + (o.warmupSeconds ?? 1) * 1000;
const value = JSON.stringify({ encrypted_value: `vault:v1:AES256-GCM:keyid=7:${'Q'.repeat(120)}`, key_ref: 'kms:card-key-v7' });
const host = `${url.hostname}:${url.port}`;
let putCounter = 0;

function requestBytes() {
  const id = 1 + Math.floor(Math.random() * o.entries);
  const common = `Host: ${host}\r\nX-Vault-Key: ${o.key}\r\n`;
  switch (o.op) {
    case 'get':
      return `GET /vault/card/payment-${id} HTTP/1.1\r\n${common}\r\n`;
    case 'head':
      return `HEAD /vault/card/payment-${id} HTTP/1.1\r\n${common}\r\n`;
    case 'list':
      return `GET /vault/card?limit=50 HTTP/1.1\r\n${common}\r\n`;
    case 'put':
      return (
        `PUT /vault/card/bench-${process.pid}-${o.connections}-${putCounter++} HTTP/1.1\r\n${common}` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(value)}\r\n\r\n${value}`
      );
    case 'replace':
      // A store over an entry that exists (random, as in a token refresh): its old version gets a purge-log row and proof.
      return (
        `PUT /vault/card/payment-${id} HTTP/1.1\r\n${common}` + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(value)}\r\n\r\n${value}`
      );
    case 'batch-get': {
      // One POST of `batchSize` GET items (random ids; repeats allowed, as in a settlement run's lookups).
      const operations = Array.from({ length: o.batchSize }, () => ({ op: 'get', external_id: `payment-${1 + Math.floor(Math.random() * o.entries)}` }));
      const body = JSON.stringify({ operations });
      return `POST /vault/card/_batch HTTP/1.1\r\n${common}` + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    }
    case 'batch-put': {
      // One POST of `batchSize` stores of fresh ids.
      const n = putCounter++;
      const operations = Array.from({ length: o.batchSize }, (_, i) => ({ op: 'put', external_id: `bench-${process.pid}-${n}-${i}`, body: JSON.parse(value) }));
      const body = JSON.stringify({ operations });
      return `POST /vault/card/_batch HTTP/1.1\r\n${common}` + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    }
    default:
      throw new Error(`unknown op ${o.op}`);
  }
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** One connection: send, read one whole response, record, repeat until the deadline. */
function connection() {
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    let buffered = Buffer.alloc(0);
    let started = 0;
    const isHead = o.op === 'head';
    const send = () => {
      if (Date.now() >= deadline) {
        socket.end();
        return resolve();
      }
      started = performance.now();
      socket.write(requestBytes());
    };
    socket.on('connect', send);
    socket.on('error', () => {
      errors++;
      resolve();
    });
    socket.on('data', (chunk) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      const end = buffered.indexOf(CRLFCRLF);
      if (end < 0) return;
      const head = buffered.toString('latin1', 0, end);
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const bodyLength = isHead || !m ? 0 : Number(m[1]);
      if (!m && !isHead && !/^HTTP\/1\.1 (204|304)/.test(head)) {
        errors++;
        socket.destroy();
        return resolve();
      }
      if (buffered.length < end + 4 + bodyLength) return;
      const status = head.slice(9, 12);
      if (Date.now() > warmupEnd) {
        latencies.push(performance.now() - started);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
      buffered = buffered.subarray(end + 4 + bodyLength);
      send();
    });
  });
}

const started = Date.now();
const cpuBefore = process.cpuUsage();
await Promise.all(Array.from({ length: o.connections }, connection));
const cpu = process.cpuUsage(cpuBefore);
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
    loader_cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
  }),
);
