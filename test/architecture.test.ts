import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, static or dynamic, type-only included. */
function importsOf(text: string): string[] {
  const specifiers: string[] = [];
  const patterns = [
    /\bimport\s+(?:type\s+)?[\w*{}\s,$]*?\s*from\s*['"]([^'"]+)['"]/g,
    /\bexport\s+(?:type\s+)?[\w*{}\s,$]*?\s*from\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) specifiers.push(m[1]!);
  return specifiers;
}

/** A relative specifier as a path under src/ (e.g. `http/problem`); bare packages stay as they are. */
function target(file: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  return relative(SRC, resolve(dirname(file), specifier))
    .split('\\')
    .join('/');
}

function violations(layer: string, forbidden: (target: string) => boolean) {
  const out: string[] = [];
  for (const file of sourceFiles(join(SRC, layer))) {
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const t = target(file, spec);
      if (forbidden(t)) out.push(`${relative(ROOT, file)} imports '${spec}'`);
    }
  }
  return out;
}

const isHono = (t: string) => t === 'hono' || t.startsWith('hono/') || t.startsWith('@hono/');
const isHttp = (t: string) => t === 'http' || t.startsWith('http/');
const isService = (t: string) => /\.service(\.[mc]?[jt]s)?$/.test(t);

describe('architecture: one-way imports http → domain → storage', () => {
  it('the import scanner sees every import form (self-check)', () => {
    const sample = [
      "import { a } from '../http/x';",
      "import type { B } from 'hono';",
      "import * as c from '../storage/y.service';",
      "export { d } from './z';",
      "import 'side-effect';",
      "const e = await import('@hono/node-server');",
      "import {\n  f,\n  g,\n} from 'multi-line';",
    ].join('\n');
    expect(importsOf(sample).sort()).toEqual(['../http/x', '../storage/y.service', './z', '@hono/node-server', 'hono', 'multi-line', 'side-effect'].sort());
  });

  it('finds the layers and their imports (the test is not vacuous)', () => {
    expect(sourceFiles(join(SRC, 'domain')).length).toBeGreaterThan(3);
    expect(sourceFiles(join(SRC, 'storage')).length).toBeGreaterThan(3);
    // http does import hono, so the detector would catch the same import in domain.
    expect(violations('http', isHono).length).toBeGreaterThan(0);
    // domain does import storage, so relative paths resolve.
    expect(violations('domain', (t) => t.startsWith('storage/')).length).toBeGreaterThan(0);
  });

  it('src/domain never imports hono', () => {
    expect(violations('domain', isHono)).toEqual([]);
  });

  it('src/domain never imports src/http', () => {
    expect(violations('domain', isHttp)).toEqual([]);
  });

  it('src/storage never imports src/http', () => {
    expect(violations('storage', isHttp)).toEqual([]);
  });

  it('src/storage never imports hono', () => {
    expect(violations('storage', isHono)).toEqual([]);
  });

  it('src/storage never imports a *.service.ts', () => {
    expect(violations('storage', isService)).toEqual([]);
  });
});
