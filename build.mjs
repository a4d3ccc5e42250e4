// Bundles the vault into dist/: one minified ESM file plus what it loads at run time (SQL migrations,
// PGlite's wasm and data), so `node dist/server.mjs` runs with no node_modules.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const out = 'dist';

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await build({
  entryPoints: ['src/main.ts'],
  outfile: join(out, 'server.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'linked',
  define: { VSQL_VAULT_VERSION: JSON.stringify(pkg.version) },
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __vaultCreateRequire } from 'node:module'; const require = __vaultCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

cpSync('drizzle', join(out, 'drizzle'), { recursive: true });
const pgliteDist = dirname(require.resolve('@electric-sql/pglite'));
for (const asset of ['pglite.wasm', 'pglite.data', 'initdb.wasm']) {
  cpSync(join(pgliteDist, asset), join(out, asset));
}

const bundleBytes = statSync(join(out, 'server.mjs')).size;
const inputs = Object.keys(result.metafile.inputs).length;
console.log(`dist/server.mjs ${(bundleBytes / 1024).toFixed(1)} KiB (${inputs} modules), + drizzle/ and PGlite assets`);
