// Re-keying as an operator's job would run it, in its own process: list the entries under one key_ref a
// page at a time, and re-wrap each (If-Match with the ETag the listing gave) at N connections.
// Usage: node rewrap-worker.mjs '{"base":"http://127.0.0.1:8443","key":"…","from":"kms:v7","to":"kms:v8","connections":8}'
// Prints one JSON line: { listed, rewrapped, statuses, list_ms, rewrap_ms, entries_per_s, p50_ms, p99_ms }.
// The "KMS call" is simulated: the new ciphertext is derived from the old one's ETag (no network).
// Node's global fetch keeps connections alive; with N workers each awaiting its answer, at most N are open.
const o = JSON.parse(process.argv[2]);
const headers = { 'X-Vault-Key': o.key };

const listStart = performance.now();
const work = [];
for (let cursor = null; ; ) {
  const url = `${o.base}/vault/card?key_ref=${encodeURIComponent(o.from)}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`;
  const page = await (await fetch(url, { headers })).json();
  for (const item of page.items) work.push({ id: item.external_id, etag: item.etag });
  if (!page.next_cursor) break;
  cursor = page.next_cursor;
}
const listMs = performance.now() - listStart;

const statuses = {};
const latencies = [];
let next = 0;
const rewrapStart = performance.now();
async function worker() {
  while (next < work.length) {
    const { id, etag } = work[next++];
    const body = JSON.stringify({ encrypted_value: `vault:v1:AES256-GCM:keyid=8:${etag}${'Q'.repeat(80)}`, key_ref: o.to });
    const t = performance.now();
    const res = await fetch(`${o.base}/vault/card/${id}/rewrap`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json', 'If-Match': etag },
      body,
    });
    await res.arrayBuffer();
    latencies.push(performance.now() - t);
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  }
}
await Promise.all(Array.from({ length: o.connections }, worker));
const rewrapMs = performance.now() - rewrapStart;
latencies.sort((a, b) => a - b);
const q = (p) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] * 100) / 100;
process.stdout.write(
  `${JSON.stringify({
    listed: work.length,
    rewrapped: statuses[200] ?? 0,
    statuses,
    list_ms: Math.round(listMs),
    rewrap_ms: Math.round(rewrapMs),
    entries_per_s: Math.round((work.length / rewrapMs) * 1000),
    p50_ms: q(0.5),
    p99_ms: q(0.99),
  })}\n`,
);
