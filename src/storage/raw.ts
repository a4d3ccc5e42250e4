import { DrizzleQueryError, Param, SQL, StringChunk } from 'drizzle-orm';
import type { Db } from './database';

/**
 * Runs a raw statement and returns its rows whatever the driver: postgres.js answers with an array,
 * PGlite with `{ rows }`.
 */
export async function queryRows<T>(tx: Db, statement: SQL): Promise<T[]> {
  const result = (await tx.execute(statement)) as unknown;
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/** A fixed text cut at its `$n` placeholders: the literal pieces and, between them, which parameter goes there. */
interface CutText {
  pieces: StringChunk[];
  slots: number[];
  /** The text's highest `$n`: how many parameters it takes. */
  count: number;
}
const cutTexts = new Map<string, CutText>();

function cut(text: string): CutText {
  const pieces: StringChunk[] = [];
  const slots: number[] = [];
  let last = 0;
  for (const match of text.matchAll(/\$(\d+)/g)) {
    pieces.push(new StringChunk(text.slice(last, match.index)));
    slots.push(Number(match[1]) - 1);
    last = match.index + match[0].length;
  }
  pieces.push(new StringChunk(text.slice(last)));
  return { pieces, slots, count: slots.length === 0 ? 0 : Math.max(...slots) + 1 };
}

/** Sends a fixed text with its parameters straight to the driver a handle was opened on; answers its rows. */
export type SendFixed = (text: string, params: readonly unknown[]) => Promise<unknown[]>;
const senders = new WeakMap<Db, SendFixed>();

/**
 * Lets `preparedRows` send fixed statements on this handle straight to its driver (storage/database.ts,
 * for the handles it opens). Only the handle itself: a transaction is another object, so its statements
 * still go through Drizzle on the transaction's connection.
 */
export function sendFixedStatements(db: Db, send: SendFixed): void {
  senders.set(db, send);
}

/**
 * A fixed SQL text with `$n` parameters, on a handle or inside a transaction. On a handle the database
 * layer opened, it goes to the driver as it is, parameters and all (what Drizzle's `execute` would send,
 * without building and walking a SQL object per call: that was the largest part of the vault's own CPU
 * per request, `npm run bench:profile`); a failure is wrapped as Drizzle wraps it. Inside a transaction
 * it goes through Drizzle's public `execute`: the text is cut at its placeholders once, and each call only
 * slots its parameters in (a parameter used twice is sent twice). Either way the text is the same every
 * time, so the driver prepares it once per connection (storage/database.ts asks postgres.js to prepare
 * everything, unless storage.prepared_statements is off). Rows keep the database's column names;
 * storage/rows.ts maps them. Parameters are strings, numbers, booleans or null: timestamps go as ISO text
 * and jsonb as JSON text cast in the SQL (`$n::text::jsonb`).
 */
export async function preparedRows<T>(db: Db, text: string, params: readonly unknown[]): Promise<T[]> {
  let compiled = cutTexts.get(text);
  if (!compiled) {
    compiled = cut(text);
    cutTexts.set(text, compiled);
  }
  const send = senders.get(db);
  if (send) {
    // Bound as the Drizzle path binds them: exactly the text's parameters, a missing one as null (the
    // drivers would otherwise refuse an undefined or a short list, and not the same way).
    const count = compiled.count;
    const values = params.length === count && !params.includes(undefined) ? params : Array.from({ length: count }, (_, i) => params[i] ?? null);
    try {
      return (await send(text, values)) as T[];
    } catch (error) {
      throw new DrizzleQueryError(text, values as unknown[], error as Error);
    }
  }
  const chunks: (StringChunk | Param)[] = new Array(compiled.pieces.length + compiled.slots.length);
  chunks[0] = compiled.pieces[0]!;
  for (let i = 0; i < compiled.slots.length; i++) {
    chunks[2 * i + 1] = new Param(params[compiled.slots[i]!] ?? null);
    chunks[2 * i + 2] = compiled.pieces[i + 1]!;
  }
  return queryRows<T>(db, new SQL(chunks));
}

/**
 * A PostgreSQL array literal (`{"a","b",NULL}`) for one array parameter: both drivers take it as text and
 * the statement casts it (`$1::text[]`), so a list of any length is one parameter of one fixed statement.
 */
export function arrayLiteral(values: readonly (string | number | boolean | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : `"${String(v).replace(/[\\"]/g, '\\$&')}"`)).join(',')}}`;
}
