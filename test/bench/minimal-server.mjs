// A reference point for the benchmark, not a vault: node:http plus postgres.js answering GET
// /vault/card/<id> by sending the vault's own one-statement read (the same SQL text and parameters,
// passed in by http.bench.ts) and writing the row back as JSON. No authentication, validation,
// logging, Hono or error handling. What it reaches is roughly what any Node process can reach on this
// machine with the same database work, so the vault's distance from it is the vault's own overhead.
// Usage (from http.bench.ts): MINIMAL={"url","port","sql","verdicts","pool"} node minimal-server.mjs
import { createServer } from 'node:http';
import postgres from 'postgres';

const o = JSON.parse(process.env.MINIMAL);
const sql = postgres(o.url, { max: o.pool, prepare: true, onnotice: () => {} });
let n = 0;

createServer(async (req, res) => {
  const id = req.url.slice('/vault/card/'.length);
  const [row] = await sql.unsafe(
    o.sql,
    [
      'card',
      id,
      o.verdicts,
      'admin',
      new Date().toISOString(),
      'retrieve',
      `min-${process.pid}-${n++}`,
      null,
      'api_key',
      '127.0.0.1',
      '{}',
      new Date(Date.now() + 10_000).toISOString(),
    ],
    {
      prepare: true,
    },
  );
  const body = JSON.stringify(row);
  res.writeHead(row?.status ?? 500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(o.port, '127.0.0.1', () => process.stdout.write('ready\n'));
