// Bundles the vault into dist/: one minified ESM file (server.mjs) plus what it loads at run time — the
// SQL migrations, and for the embedded mode only, PGlite (pglite.mjs with its wasm and data) — so
// `node dist/server.mjs` runs with no node_modules.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const out = 'dist';
// VSQL_VAULT_BUILD_READABLE=1 keeps names and whitespace, for a CPU profile that names functions (README, Performance).
const minify = process.env.VSQL_VAULT_BUILD_READABLE !== '1';

/**
 * Code the vault can never run is left out of the one file it ships (less to audit, under 1 MB):
 * zod's translations of its messages other than English (z.locales is never used) and z.fromJSONSchema,
 * and PGlite's browser-only file systems (OPFS), which only `opfs-ahp://` data dirs would load. Each
 * stub throws if it is ever reached; the bundle test runs the result on PGlite and PostgreSQL.
 */
const unreachable = (what) => `throw new Error(${JSON.stringify(`${what} is not part of the vsql-vault bundle`)});`;
const leaveOut = {
  name: 'leave-out-unreachable-code',
  setup(b) {
    const stub = (filter, inside, contents) =>
      b.onResolve({ filter }, (args) => (args.resolveDir.includes(inside) ? { path: args.path, namespace: 'left-out', pluginData: contents } : undefined));
    stub(/\/locales\/index\.js$/, '/zod/', `export { default as en } from ${JSON.stringify(require.resolve('zod/v4/locales/en.js'))};`);
    stub(/^\.\/from-json-schema\.js$/, '/zod/', `export function fromJSONSchema() { ${unreachable('z.fromJSONSchema')} }`);
    stub(/^\.\/fs\/(opfs-ahp|memfs2opfs)\.js$/, '/pglite/', unreachable('PGlite OPFS storage'));
    b.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => ({ contents: args.pluginData, loader: 'js', resolveDir: process.cwd() }));
  },
};

/**
 * postgres.js 3.4.9 can write to a socket it has already closed (a write deferred with setImmediate
 * fires after the connection dropped): "Cannot read properties of null (reading 'write')", thrown where
 * nothing can catch it, so a database restart could take the vault down (upstream porsager/postgres
 * #1154, #1066, #1208; fixes not released). The installed driver gets a guard on that one write — the
 * queries of a closed connection have already been failed by the driver, so the stale bytes are dropped.
 * `npm install` / `npm ci` apply it (package.json postinstall runs `node build.mjs --patch-driver`), so
 * the tests run the very driver the bundle ships; the build refuses to bundle an unguarded driver, and
 * patching fails loudly if the driver's code changed, so an upgrade is looked at, not silently patched.
 */
const NEXT_WRITE = '  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)';
const GUARDED_WRITE =
  '  function nextWrite(fn) {\n    if (socket === null) { nextWriteTimer !== null && clearImmediate(nextWriteTimer); chunk = nextWriteTimer = null; return false }\n    const x = socket.write(chunk, fn)';
// The package exports no package.json: its root is two folders above the CommonJS entry (cjs/src/index.js).
const driverFiles = () => ['src', 'cjs/src', 'cf/src'].map((dir) => join(dirname(require.resolve('postgres')), '..', '..', dir, 'connection.js'));

function patchDriver() {
  for (const file of driverFiles()) {
    const source = readFileSync(file, 'utf8');
    if (source.includes(GUARDED_WRITE)) continue;
    if (!source.includes(NEXT_WRITE)) throw new Error(`postgres.js changed (${file}): review the closed-socket write guard in build.mjs`);
    writeFileSync(file, source.replace(NEXT_WRITE, GUARDED_WRITE));
  }
}

if (process.argv.includes('--patch-driver')) {
  patchDriver();
  console.log('postgres.js: closed-socket write guard in place');
  process.exit(0);
}
for (const file of driverFiles()) {
  if (!readFileSync(file, 'utf8').includes(GUARDED_WRITE))
    throw new Error(`${file} lacks the closed-socket write guard: run npm ci (or node build.mjs --patch-driver)`);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

/** The embedded store's code goes to dist/pglite.mjs, loaded at run time only for pglite:// URLs. */
const pgliteAsSibling = {
  name: 'pglite-as-sibling-file',
  setup(b) {
    b.onResolve({ filter: /^\.\/pglite-driver$/ }, () => ({ path: './pglite.mjs', external: true }));
  },
};
const banner = {
  js: "#!/usr/bin/env node\nimport { createRequire as __vaultCreateRequire } from 'node:module'; const require = __vaultCreateRequire(import.meta.url);",
};

await build({
  plugins: [leaveOut],
  entryPoints: ['src/storage/pglite-driver.ts'],
  outfile: join(out, 'pglite.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify,
  legalComments: 'linked',
  banner,
  logLevel: 'warning',
});

const result = await build({
  plugins: [leaveOut, pgliteAsSibling],
  entryPoints: ['src/main.ts'],
  outfile: join(out, 'server.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify,
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'linked',
  define: { VSQL_VAULT_VERSION: JSON.stringify(pkg.version) },
  banner,
  logLevel: 'warning',
});

cpSync('drizzle', join(out, 'drizzle'), { recursive: true });
const pgliteDist = dirname(require.resolve('@electric-sql/pglite'));
for (const asset of ['pglite.wasm', 'pglite.data', 'initdb.wasm']) {
  cpSync(join(pgliteDist, asset), join(out, asset));
}

const bundleBytes = statSync(join(out, 'server.mjs')).size;
const inputs = Object.keys(result.metafile.inputs).length;
const pgliteBytes = statSync(join(out, 'pglite.mjs')).size;
console.log(
  `dist/server.mjs ${bundleBytes} bytes (${(bundleBytes / 1024).toFixed(1)} KiB, ${inputs} modules); embedded-mode assets: pglite.mjs ${(pgliteBytes / 1024).toFixed(1)} KiB + PGlite wasm/data; drizzle/`,
);
