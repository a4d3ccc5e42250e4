// A reference point for the benchmark, not a vault: node:http plus postgres.js answering GET
// /vault/card/<id> by sending the vault's own one-statement read, and PUT /vault/card/<id> (a create) by
// sending the vault's own one-statement store (the same SQL texts, passed in by http.bench.ts, with the
// parameters the vault would send), writing the row back as JSON. No authentication, validation,
// decision, logging, Hono or error handling. What it reaches is roughly what any Node process can reach
// on this machine with the same database work, so the vault's distance from it is the vault's own overhead.
// Usage (from http.bench.ts): MINIMAL={"url","port","sql","verdicts","pool","store":{…}} node minimal-server.mjs
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import postgres from 'postgres';

const o = JSON.parse(process.env.MINIMAL);
const sql = postgres(o.url, { max: o.pool, prepare: true, onnotice: () => {} });
let n = 0;
const later = (ms) => new Date(Date.now() + ms).toISOString();

function read(id) {
  return sql.unsafe(
    o.sql,
    ['card', id, o.verdicts, 'admin', new Date().toISOString(), 'retrieve', `min-${process.pid}-${n++}`, null, 'api_key', '127.0.0.1', '{}', later(10_000)],
    { prepare: true },
  );
}

/** A create with the parameters the vault sends for it (store-statement.repository's order: the entry's columns, then the rest). */
function store(id, body) {
  const s = o.store;
  const now = new Date().toISOString();
  const values = {
    purpose: 'card',
    external_id: id,
    encrypted_value: body.encrypted_value,
    key_ref: body.key_ref ?? null,
    access_policy: 'owner-only',
    owner_app: 'admin',
    etag: randomBytes(16).toString('hex'),
    retrieval_count: 0,
    created_at: now,
    updated_at: now,
    expires_at: later(365 * 86_400_000),
    value_written_at: now,
  };
  const params = s.columns.map((c) => values[c] ?? null);
  params.push(
    s.retentionDigest,
    s.policyDigest,
    '{absent,active}',
    now,
    `min-${process.pid}-${n++}`,
    'admin',
    null,
    'api_key',
    '127.0.0.1',
    later(10_000),
    s.grants,
    null,
    null,
  );
  return sql.unsafe(s.sql, params, { prepare: true });
}

createServer(async (req, res) => {
  const id = req.url.slice('/vault/card/'.length);
  let rows;
  if (req.method === 'PUT') {
    let text = '';
    for await (const chunk of req) text += chunk;
    rows = await store(id, JSON.parse(text));
  } else {
    rows = await read(id);
  }
  const row = rows[0];
  const body = JSON.stringify(row);
  const status = req.method === 'PUT' ? (row?.id ? 201 : 500) : (row?.status ?? 500);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(o.port, '127.0.0.1', () => process.stdout.write('ready\n'));
