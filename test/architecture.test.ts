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

/** Files under src/ (relative, e.g. `features/entries/entries.service.ts`) whose path matches `where`. */
function filesWhere(where: (path: string) => boolean): string[] {
  return sourceFiles(SRC)
    .map((f) => relative(SRC, f).split('\\').join('/'))
    .filter(where);
}

/** `file imports spec` for every import of the chosen files that `forbidden` rules out. */
function violations(where: (path: string) => boolean, forbidden: (target: string) => boolean) {
  const out: string[] = [];
  for (const file of filesWhere(where)) {
    for (const spec of importsOf(readFileSync(join(SRC, file), 'utf8'))) {
      if (forbidden(target(join(SRC, file), spec))) out.push(`src/${file} imports '${spec}'`);
    }
  }
  return out;
}

const isHono = (t: string) => t === 'hono' || t.startsWith('hono/') || t.startsWith('@hono/');
const isHttp = (t: string) => t === 'http' || t.startsWith('http/');
const isService = (t: string) => /\.service$/.test(t);
const isRoutes = (t: string) => /\.routes$/.test(t);
const isRepository = (t: string) => /\.repository$/.test(t) || t.startsWith('storage/');
const isDriver = (t: string) =>
  t === 'postgres' || t.startsWith('@electric-sql/') || t.startsWith('node:fs') || t === 'drizzle-orm' || t.startsWith('drizzle-orm/');
const under = (folder: string) => (p: string) => p.startsWith(`${folder}/`);
const named = (re: RegExp) => (p: string) => re.test(p);
/** The pure decisions: no I/O, so each is tested as a function and held equal to its SQL where it has one. */
const PURE = [
  'policies/access-rules',
  'policies/retention',
  'entries/read-decision',
  'entries/store-decision',
  'entries/retrieve-verdicts',
  'purge/purge-proof',
  'audit/audit-chain',
];
const isPure = (p: string) => PURE.some((m) => p === `features/${m}.ts`);

describe('architecture: a kernel, feature folders, and shared infrastructure, imported one way', () => {
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

  it('finds the folders and their imports (the test is not vacuous)', () => {
    expect(filesWhere(under('kernel')).length).toBeGreaterThan(4);
    expect(filesWhere(under('features')).length).toBeGreaterThan(20);
    expect(filesWhere(isPure)).toHaveLength(PURE.length);
    // Routes do import hono-facing code and repositories import storage, so the detectors would catch them elsewhere.
    expect(violations(under('http'), isHono).length).toBeGreaterThan(0);
    expect(violations(named(/\.repository\.ts$/), (t) => t.startsWith('storage/')).length).toBeGreaterThan(0);
  });

  it('the kernel imports no feature; only the operation declaration (an HTTP contract) touches hono and http/', () => {
    expect(violations(under('kernel'), (t) => t.startsWith('features/'))).toEqual([]);
    expect(
      violations(
        (p) => p.startsWith('kernel/') && p !== 'kernel/operation.ts',
        (t) => isHttp(t) || isHono(t),
      ),
    ).toEqual([]);
  });

  it('verbs (*.service.ts) import no hono, no HTTP code and no routes', () => {
    expect(violations(named(/\.service\.ts$/), (t) => isHono(t) || isHttp(t) || isRoutes(t))).toEqual([]);
  });

  it('repositories and storage import no hono, no HTTP code, no verb, no route and not the executor', () => {
    const forbidden = (t: string) => isHono(t) || isHttp(t) || isService(t) || isRoutes(t) || t === 'kernel/executor' || t === 'kernel/operation';
    expect(violations((p) => /\.repository\.ts$/.test(p) || p.startsWith('storage/'), forbidden)).toEqual([]);
  });

  it('storage raises its own errors: it imports nothing from the kernel', () => {
    expect(violations(under('storage'), (t) => t.startsWith('kernel/'))).toEqual([]);
  });

  it('routes stay thin: they call verbs, never a repository or storage directly', () => {
    expect(violations(named(/\.routes\.ts$/), isRepository)).toEqual([]);
  });

  it('the pure decisions do no I/O: no storage, no repository, no driver, no HTTP', () => {
    expect(violations(isPure, (t) => isRepository(t) || isDriver(t) || isHttp(t) || isHono(t) || t.startsWith('kernel/executor'))).toEqual([]);
  });

  it('only the executor and the refusal recorder write access-log rows from TypeScript', () => {
    expect(
      violations(
        () => true,
        (t) => t === 'storage/access-log.repository',
      ).sort(),
    ).toEqual(
      ["src/http/audit-rejection.ts imports '../storage/access-log.repository'", "src/kernel/executor.ts imports '../storage/access-log.repository'"].sort(),
    );
  });
});
