import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import type { AuditOperation } from './audit';
import type { Role } from './principal';
import type { AppEnv } from '../http/app-env';
import { requireRole } from '../http/require-role';
import { requireJson, validate } from '../http/validate';

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';

/**
 * Who may call an operation before its verb decides: anyone (`public`, mounted before authentication),
 * any authenticated caller (`authenticated`, the verb then judges the entry's policy), or callers with
 * one of the roles.
 */
export type Access = 'public' | 'authenticated' | readonly Role[];

/**
 * One operation of the API, declared once. The Hono mount, the OpenAPI entry, the audit target of a
 * refusal (operation name, purpose and external id from the path), the decision metric's label and the
 * shared auth tests are all derived from this declaration: adding a route is adding one of these.
 */
type Output<S> = S extends z.ZodType ? z.output<S> : undefined;

/** What an operation's handler receives: its validated input, typed by its own schemas. */
export interface OperationInput<P, Q, B> {
  params: Output<P>;
  query: Output<Q>;
  body: Output<B>;
}

export interface Operation<
  P extends z.ZodObject | undefined = z.ZodObject | undefined,
  Q extends z.ZodObject | undefined = z.ZodObject | undefined,
  B extends z.ZodType | undefined = z.ZodType | undefined,
> {
  /** The access-log operation (also the decision metric's label and the OpenAPI operationId's stem). */
  name: AuditOperation;
  /** The OpenAPI operationId when two operations share an audit name (another path to the same thing). */
  operationId?: string;
  method: HttpMethod;
  /** A Hono pattern, e.g. `/vault/:purpose/:external_id`. */
  path: string;
  access: Access;
  summary: string;
  params?: P;
  query?: Q;
  /** A JSON body (415 unless application/json; checked by the JSON guard, then this schema). */
  body?: B;
  /** Status → description; 4xx/5xx are problem+json unless `answers` says otherwise. */
  responses: Readonly<Record<number, string>>;
  /**
   * Status → what its answer carries, for the OpenAPI document (and the tests that hold the vault to it):
   * every 2xx of `responses` has an entry; an entry with neither `schema` nor `types` has no body (HEAD,
   * 204, 304). A 4xx/5xx entry replaces problem+json (a probe's 503 is plain JSON).
   */
  answers?: Readonly<Partial<Record<number, Answer>>>;
  /** The request headers the handler reads (documented as header parameters). */
  headers?: readonly (RequestHeader | { name: RequestHeader; required: true })[];
  /** A concrete request that reaches this operation, for the shared auth tests (omitted for public ones). */
  example?: { path: string; body?: unknown };
  run: (c: Context<AppEnv>, input: OperationInput<P, Q, B>) => Response | Promise<Response>;
}

/** The request headers an operation may read, each documented once in the OpenAPI document. */
export type RequestHeader = 'if-match' | 'if-none-match' | 'idempotency-key';

/** The response headers the vault sends where a client relies on them. */
export type ResponseHeader = 'etag' | 'location' | 'x-vault-expires-at' | 'last-modified' | 'idempotent-replayed';

/** One status's answer: a JSON body (`schema`), bodies of other media types (`types`, as text), headers. */
export interface Answer {
  /** The application/json body, as the vault writes it (converted with `io: 'output'`). */
  schema?: z.ZodType;
  /** Other media types this status may carry instead (text/plain, text/html, application/jose). */
  types?: readonly string[];
  headers?: readonly ResponseHeader[];
}

/** Any operation, whatever its schemas (the table's element type). */
// biome-ignore lint/suspicious/noExplicitAny: the table holds operations of every input type
export type AnyOperation = Operation<any, any, any>;

/** Declares one operation; the handler's input is typed from the declaration's own schemas. */
export function defineOperation<
  P extends z.ZodObject | undefined = undefined,
  Q extends z.ZodObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(operation: Operation<P, Q, B>): Operation<P, Q, B> {
  return operation;
}

/** The validated input Hono's validators left on the request, handed to the handler in one place. */
function inputOf(c: Context<AppEnv>, operation: AnyOperation): OperationInput<unknown, unknown, unknown> {
  const req = c.req as unknown as { valid(target: string): unknown };
  return {
    params: operation.params ? req.valid('param') : undefined,
    query: operation.query ? req.valid('query') : undefined,
    body: operation.body ? req.valid('json') : undefined,
  } as OperationInput<unknown, unknown, unknown>;
}

/** Param names that name the audited target when the path carries them. */
const TARGET_PARAMS = { purpose: 'purpose', externalId: 'external_id' } as const;

export interface AuditTarget {
  operation: AuditOperation;
  purpose: string | null;
  externalId: string | null;
}

interface CompiledPattern {
  operation: AnyOperation;
  regex: RegExp;
  names: string[];
}

function compile(operation: AnyOperation): CompiledPattern {
  const names: string[] = [];
  const source = operation.path
    .split('/')
    .map((part) => {
      if (!part.startsWith(':')) return part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
      names.push(part.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { operation, regex: new RegExp(`^${source}/?$`), names };
}

/**
 * What a request was trying to do, from its method and path alone, for requests refused before their
 * operation ran (failed authentication, a role gate, bad input). Path parts are kept only when the
 * operation's own param schema accepts them, so junk a caller puts in a URL never lands in the log.
 */
export function auditTargets(operations: readonly AnyOperation[]): (method: string, path: string) => AuditTarget {
  const compiled = operations.map(compile);
  return (method, path) => {
    const m = method.toUpperCase();
    let found: { c: CompiledPattern; match: RegExpExecArray } | undefined;
    for (const c of compiled) {
      if (c.operation.method !== m) continue;
      const match = c.regex.exec(path);
      if (match) {
        found = { c, match };
        break;
      }
    }
    if (!found) return { operation: 'request', purpose: null, externalId: null };
    const { c, match } = found;
    const raw: Record<string, string> = {};
    c.names.forEach((name, i) => {
      try {
        raw[name] = decodeURIComponent(match[i + 1]!);
      } catch {
        // left out: not a well-formed path part
      }
    });
    // Each part on its own: a bad purpose does not hide a well-formed external id, and vice versa.
    const shape = (c.operation.params?.shape ?? {}) as Record<string, z.ZodType>;
    const valid = (name: string) => {
      const value = raw[name];
      return value !== undefined && shape[name]?.safeParse(value).success ? value : null;
    };
    return { operation: c.operation.name, purpose: valid(TARGET_PARAMS.purpose), externalId: valid(TARGET_PARAMS.externalId) };
  };
}

/** The middleware an operation's declaration implies, in order: role gate, path params, query, JSON body. */
function guards(operation: AnyOperation): MiddlewareHandler<AppEnv>[] {
  const out: MiddlewareHandler<AppEnv>[] = [];
  if (Array.isArray(operation.access)) out.push(requireRole(...(operation.access as Role[])));
  // The validators' own context types are wider than AppEnv; they read nothing of it.
  const as = (m: unknown) => m as MiddlewareHandler<AppEnv>;
  if (operation.params) out.push(as(validate('param', operation.params)));
  if (operation.query) out.push(as(validate('query', operation.query)));
  if (operation.body) out.push(requireJson(), as(validate('json', operation.body)));
  return out;
}

/**
 * Mounts operations on the app. Hono answers HEAD through the GET route, so a HEAD operation shares the
 * GET route of its path (its declaration must then ask for the same access and params) and the handler
 * picks the operation by the request's method.
 */
export function mountOperations(app: Hono<AppEnv>, operations: readonly AnyOperation[]): void {
  for (const operation of operations) {
    const get = operation.method === 'HEAD' ? operations.find((o) => o.method === 'GET' && o.path === operation.path) : undefined;
    if (get) {
      if (get.access !== operation.access || get.params !== operation.params)
        throw new Error(`HEAD ${operation.path} must share its GET route's access and params`);
      continue;
    }
    const head = operation.method === 'GET' ? operations.find((o) => o.method === 'HEAD' && o.path === operation.path) : undefined;
    const run = (c: Context<AppEnv>) => {
      const chosen = head && c.req.method === 'HEAD' ? head : operation;
      return chosen.run(c, inputOf(c, chosen));
    };
    const method: string = operation.method === 'HEAD' ? 'GET' : operation.method;
    app.on(method, [operation.path], ...guards(operation), (c) => run(c));
  }
}
