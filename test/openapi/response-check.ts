import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020';
import { buildOpenApi } from '../../src/http/openapi';
import type { AnyOperation } from '../../src/kernel/operation';
import type { VaultConfig } from '../../src/config/config-schema';

type Schema = Record<string, unknown>;
type ResponseObject = { content?: Record<string, { schema: Schema }> };
type Doc = { paths: Record<string, Record<string, { responses: Record<string, ResponseObject> }>>; components: { schemas: Record<string, Schema> } };

/** One Ajv per distinct set of components (they hold every schema a response refers to), each compiled schema kept. */
const ajvs = new Map<string, { ajv: Ajv2020; urn: string }>();
const compiled = new Map<string, ValidateFunction>();

function validatorFor(doc: Doc, schema: Schema): ValidateFunction {
  const components = JSON.stringify(doc.components.schemas);
  const hash = createHash('sha256').update(components).digest('hex').slice(0, 16);
  let entry = ajvs.get(hash);
  if (!entry) {
    const urn = `urn:vsql-vault:openapi:${hash}`;
    // Formats are left to the schemas' own patterns (zod writes one for every date-time).
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema({ $id: urn, components: doc.components });
    ajvs.set(hash, (entry = { ajv, urn }));
  }
  const text = JSON.stringify(schema);
  const key = `${hash} ${text}`;
  let validate = compiled.get(key);
  if (!validate) {
    const { urn } = entry;
    validate = entry.ajv.compile(JSON.parse(text.replaceAll('"#/components/', `"${urn}#/components/`)) as Schema);
    compiled.set(key, validate);
  }
  return validate;
}

const openApiPath = (path: string) => path.replace(/:([A-Za-z_]+)/g, '{$1}');

/** An operation's Hono pattern as a regex (as kernel/operation.ts matches refused requests to their operation). */
const patternOf = (path: string) =>
  new RegExp(
    `^${path
      .split('/')
      .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
      .join('/')}/?$`,
  );

/**
 * Holds every answer a test vault gives to the OpenAPI document it serves: a JSON body is validated
 * against the schema its operation declares for that status (`answers`), an error against Problem (or its
 * own declared schema, as /health's 503), another media type must be one the status declares, and a status
 * that declares no body must send none. Returns what does not match, or undefined.
 */
export function responseChecker(config: Readonly<VaultConfig>, operations: readonly AnyOperation[]) {
  let doc: Doc | undefined;
  const table = operations.map((o) => ({ o, regex: patternOf(o.path) }));
  return async (method: string, url: string, res: Response): Promise<string | undefined> => {
    doc ??= buildOpenApi(config, 'dev', operations) as unknown as Doc;
    const m = method.toUpperCase();
    const path = new URL(url, 'http://vault.test').pathname;
    const found = table.find((t) => t.o.method === m && t.regex.test(path))?.o;
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const text = m === 'HEAD' ? '' : await res.clone().text();
    const where = `${m} ${path} → ${res.status}${found ? ` (${found.operationId ?? found.name})` : ''}`;
    const documented = found ? doc.paths[openApiPath(found.path)]?.[found.method.toLowerCase()]?.responses[String(res.status)] : undefined;
    let schema: Schema | undefined;
    if (documented?.content) {
      if (text === '') return documented.content['application/json'] ? `${where}: the document declares a body, the answer has none` : undefined;
      const media = documented.content[type];
      if (!media) return `${where}: answered ${type || 'no content type'}, the document declares ${Object.keys(documented.content).join(', ')}`;
      if (type !== 'application/json' && type !== 'application/problem+json') return undefined;
      schema = media.schema;
    } else if (res.status >= 400 || type === 'application/problem+json') {
      // An error status the operation does not list (or a path no operation serves): still a Problem.
      // The vault's own operations (they declare their answers) must list every error status they give.
      if (found?.answers) return `${where}: the operation's responses do not list this status`;
      if (found && process.env.OPENAPI_UNDOCUMENTED_LOG) appendFileSync(process.env.OPENAPI_UNDOCUMENTED_LOG, `${where}\n`);
      if (text === '') return undefined;
      if (type !== 'application/problem+json') return `${where}: an error answered ${type || 'no content type'}, not application/problem+json`;
      schema = { $ref: '#/components/schemas/Problem' };
    } else if (!found?.answers) {
      // An operation that declares no answers at all (a test's dummy) is not checked; test/http/openapi.test.ts
      // holds every operation of the vault's own table to declaring each of its 2xx.
      return undefined;
    } else if (res.status < 300 && !found.answers[res.status]) {
      return `${where}: the operation declares no answer for this status`;
    } else if (text !== '') {
      return `${where}: the document declares no body for this status, the answer has ${type || 'one'}`;
    } else {
      return undefined;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return `${where}: the body is not JSON`;
    }
    const validate = validatorFor(doc, schema);
    if (validate(body)) return undefined;
    const errors = (validate.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
    return `${where}: the body does not match the document:\n  ${errors.join('\n  ')}\n  body: ${text.slice(0, 600)}`;
  };
}
