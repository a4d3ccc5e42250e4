import { z } from 'zod';

export const PURPOSE_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const APP_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

const listenAddr = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, e.g. "127.0.0.1:8443"')
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'port must be at most 65535');

/**
 * One declared app: the registry of who may act as it. Each credential kind names its own binding — the
 * SHA-256 of an API key, the client id a token from [auth.jwt]'s issuer carries, the full SPIFFE ID or
 * certificate subject of a client certificate — and roles and purposes are the app's, whatever a token says.
 */
const app = z
  .object({
    name: z.string().regex(APP_NAME_PATTERN, 'app names are letters, digits and . _ : -'),
    key_sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'expected the hex SHA-256 of the key (64 hex digits), never the key itself')
      .transform((v) => v.toLowerCase())
      .optional(),
    jwt_client_id: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
      .optional(),
    /** Only with several [auth.jwt] issuers: the one whose tokens act as this app. */
    jwt_issuer: z.string().min(1).optional(),
    mtls_id: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[^\u0000-\u001f\u007f]+$/, 'no control characters')
      .optional(),
    roles: z.array(z.enum(['admin', 'auditor'])).default([]),
    purposes: z.array(z.string().regex(PURPOSE_PATTERN, 'purposes match ^[a-z0-9][a-z0-9_-]{0,63}$')).optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.key_sha256 === undefined && a.jwt_client_id === undefined && a.mtls_id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: `app '${a.name}' names no credential: give it key_sha256, jwt_client_id or mtls_id` });
    }
    if (a.jwt_issuer !== undefined && a.jwt_client_id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['jwt_issuer'], message: 'jwt_issuer goes with jwt_client_id' });
    }
  });

const stringOrList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
const HMAC = ['HS256', 'HS384', 'HS512'] as const;

/** [auth.jwt]: bearer tokens verified against a JWKS (URL or file) or, only when configured, an HMAC secret. */
const jwt = z
  .object({
    jwks_url: z.url({ protocol: /^https?$/ }).optional(),
    jwks_file: z.string().min(1).optional(),
    hmac_secret_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .optional(),
    issuer: stringOrList,
    audience: stringOrList,
    algorithms: z
      .array(z.enum([...ASYMMETRIC, ...HMAC]))
      .min(1)
      .default(['RS256', 'PS256', 'ES256', 'EdDSA']),
    clock_tolerance_seconds: z.number().int().min(0).max(300).default(30),
    app_claim: z.string().min(1).optional(),
    roles_claim: z.string().min(1).default('vault_roles'),
    purposes_claim: z.string().min(1).default('vault_purposes'),
    jwks_cooldown_seconds: z.number().int().min(0).max(3600).default(30),
    /** A token whose exp lies further than this past its iat (or past now) is refused: stolen tokens expire. */
    max_token_lifetime_seconds: z.number().int().min(60).max(86_400).default(3600),
  })
  .strict()
  .superRefine((j, ctx) => {
    const sources = [j.jwks_url, j.jwks_file, j.hmac_secret_env].filter(Boolean).length;
    if (sources !== 1) ctx.addIssue({ code: 'custom', path: ['jwks_url'], message: 'set exactly one of jwks_url, jwks_file, hmac_secret_env' });
    const hmac = j.algorithms.filter((a) => (HMAC as readonly string[]).includes(a));
    if (j.hmac_secret_env && hmac.length !== j.algorithms.length) {
      ctx.addIssue({ code: 'custom', path: ['algorithms'], message: 'with hmac_secret_env, list only HS256/HS384/HS512' });
    }
    if (!j.hmac_secret_env && hmac.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['algorithms'], message: 'HMAC algorithms need hmac_secret_env' });
    }
  });

/** postgres.js's own `prepare` URL parameter: false for `prepare=false` (or `disable`), true for another value, undefined when absent. */
export function urlPrepareParam(url: string): boolean | undefined {
  const match = /[?&]prepare=([^&#]*)/.exec(url);
  if (!match) return undefined;
  const value = decodeURIComponent(match[1] ?? '');
  return value !== 'false' && value !== 'disable';
}

/** The URL with `prepare=false` added to its query (multi-host URLs included: the host list is left as written). */
function withPrepareFalse(url: string): string {
  const hash = url.indexOf('#');
  const [body, fragment] = hash === -1 ? [url, ''] : [url.slice(0, hash), url.slice(hash)];
  return `${body}${body.includes('?') ? '&' : '?'}prepare=false${fragment}`;
}

/** Mirrors the TOML sections. `.strict()` everywhere: an unknown key is a mistake worth stopping for. */
export const configSchema = z
  .object({
    server: z
      .object({
        listen_addr: listenAddr.default('127.0.0.1:8443'),
        request_timeout_ms: z.number().int().min(100).max(600_000).default(10_000),
        tls_cert_file: z.string().min(1).optional(),
        tls_key_file: z.string().min(1).optional(),
        tls_client_ca_file: z.string().min(1).optional(),
        require_client_cert: z.boolean().default(false),
        allow_plaintext: z.boolean().default(false),
        max_header_bytes: z.number().int().min(1024).max(65_536).default(16_384),
        max_path_bytes: z.number().int().min(256).max(16_384).default(2048),
      })
      .strict()
      .superRefine((s, ctx) => {
        if (Boolean(s.tls_cert_file) !== Boolean(s.tls_key_file)) {
          ctx.addIssue({ code: 'custom', path: [s.tls_cert_file ? 'tls_key_file' : 'tls_cert_file'], message: 'tls_cert_file and tls_key_file go together' });
        }
        if ((s.tls_client_ca_file || s.require_client_cert) && !s.tls_cert_file) {
          ctx.addIssue({ code: 'custom', path: ['tls_client_ca_file'], message: 'client certificates need the TLS listener (tls_cert_file, tls_key_file)' });
        }
        if (s.require_client_cert && !s.tls_client_ca_file) {
          ctx.addIssue({ code: 'custom', path: ['require_client_cert'], message: 'require_client_cert needs tls_client_ca_file' });
        }
      })
      .prefault({}),
    storage: z
      .object({
        database_url: z
          .string()
          .regex(/^(postgres(ql)?:\/\/|pglite:\/\/.+)/, 'expected postgres://…, postgresql://…, pglite://PATH or pglite://memory')
          .default('pglite://./vault-data'),
        pool_max: z.number().int().min(1).max(100).default(5),
        migrate_on_start: z.boolean().default(true),
        connect_attempts: z.number().int().min(1).max(100).default(10),
        /**
         * false: no server-side prepared statements, for a transaction pooler in front of PostgreSQL (PgBouncer
         * pool_mode = transaction before 1.21). Unset: true, unless the URL already says prepare=false.
         */
        prepared_statements: z.boolean().optional(),
      })
      .strict()
      .superRefine((s, ctx) => {
        const inUrl = urlPrepareParam(s.database_url);
        if (s.prepared_statements !== undefined && inUrl !== undefined && s.prepared_statements !== inUrl) {
          ctx.addIssue({
            code: 'custom',
            path: ['prepared_statements'],
            message: `prepared_statements = ${s.prepared_statements} contradicts prepare= in database_url`,
          });
        } else if (!(s.prepared_statements ?? inUrl ?? true) && !/^postgres(ql)?:\/\//.test(s.database_url)) {
          ctx.addIssue({
            code: 'custom',
            path: ['prepared_statements'],
            message: 'prepared_statements = false is for a postgres:// database_url (PGlite prepares nothing across connections)',
          });
        }
      })
      // One source of truth for the driver: the URL carries prepare=false (postgres.js reads it, and so does storage/database.ts).
      .transform((s) => {
        const prepared = s.prepared_statements ?? urlPrepareParam(s.database_url) ?? true;
        const database_url = prepared || urlPrepareParam(s.database_url) === false ? s.database_url : withPrepareFalse(s.database_url);
        return { ...s, database_url, prepared_statements: prepared };
      })
      .prefault({}),
    auth: z
      .object({
        api_key_header: z
          .string()
          .regex(/^[A-Za-z0-9-]{1,64}$/, 'expected an HTTP header name')
          .default('X-Vault-Key'),
        api_key_env: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
          .default('VSQL_VAULT_API_KEY'),
        apps: z.array(app).default([]),
        jwt: jwt.optional(),
        /** Replaced by mtls_id on [[auth.apps]]; kept only to name the migration when an old file has it. */
        mtls: z.unknown().optional(),
        failure_limit: z.number().int().min(1).max(100_000).default(20),
        failure_window_seconds: z.number().int().min(1).max(86_400).default(60),
        /** Refusals before or at authentication, from all addresses together, that get a row each per window. */
        refusal_total_limit: z.number().int().min(1).max(10_000_000).default(1000),
      })
      .strict()
      .prefault({}),
    purge: z
      .object({
        sweep_interval_hours: z
          .number()
          .positive()
          .max(24 * 366)
          .default(24),
        schedule: z.string().min(1).optional(),
        purge_proof_hash: z.boolean().default(true),
        batch_size: z.number().int().min(1).max(100_000).default(1000),
        sweep_concurrency: z.number().int().min(1).max(8).default(2),
        signing_key_file: z.string().min(1).optional(),
        signing_key_id: z
          .string()
          .regex(/^[\w.-]{1,128}$/, 'letters, digits, . _ -')
          .optional(),
      })
      .strict()
      .prefault({}),
    keys: z
      .object({
        /** When true, a store or re-wrap must name a key_ref registered with PUT /admin/keys/{key_ref} (and active). */
        require_registered: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        max_value_bytes: z
          .number()
          .int()
          .min(16)
          .max(16 * 1024 * 1024)
          .default(65_536),
        max_metadata_bytes: z
          .number()
          .int()
          .min(2)
          .max(1024 * 1024)
          .default(4096),
        list_max_limit: z.number().int().min(1).max(10_000).default(1000),
        /** Items in one POST /vault/{purpose}/_batch (413 beyond). */
        batch_max_operations: z.number().int().min(1).max(1000).default(100),
        /** Largest batch request body in bytes (413 beyond); other bodies keep the per-value limit. */
        batch_max_bytes: z
          .number()
          .int()
          .min(64 * 1024)
          .max(64 * 1024 * 1024)
          .default(8 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
    audit: z
      .object({
        seal_interval_seconds: z.number().int().min(1).max(86_400).default(60),
        seal_grace_seconds: z.number().int().min(1).max(86_400).default(300),
        seal_max_rows: z.number().int().min(100).max(1_000_000).default(100_000),
        /** PCI DSS 10.5.1 asks for twelve months of history: a month of the logs may be pruned (after it was archived) once it is this old. */
        retention_days: z
          .number()
          .int()
          .min(365, 'below 365 days is refused: PCI DSS 10.5.1 asks for at least twelve months of audit history')
          .max(36_500)
          .default(400),
        /** Ed25519 or P-256 PKCS#8 PEM that signs checkpoints and verification records (default: purge.signing_key_file, or on pglite:// a key file the vault creates beside its data directory). */
        signing_key_file: z.string().min(1).optional(),
        signing_key_id: z
          .string()
          .regex(/^[\w.-]{1,128}$/, 'letters, digits, . _ -')
          .optional(),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        enabled: z.boolean().default(true),
        require_auth: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    if (config.auth.mtls !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth', 'mtls'],
        message:
          '[auth.mtls] is gone: declare each certificate on its app as mtls_id (a full SPIFFE ID or the certificate subject) with its roles and purposes (docs/security.md, "Migrating from app names")',
      });
    }
    const bound = { key: new Map<string, string>(), jwt: new Map<string, string>(), mtls: new Map<string, string>() };
    const issuers = config.auth.jwt ? (Array.isArray(config.auth.jwt.issuer) ? config.auth.jwt.issuer : [config.auth.jwt.issuer]) : [];
    const claim = (kind: keyof typeof bound, value: string | undefined, i: number, name: string, field: string) => {
      if (value === undefined) return;
      const other = bound[kind].get(value);
      if (other !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['auth', 'apps', i, field],
          message: `app '${name}' has the same ${field} as app '${other}'; a credential acts as one app`,
        });
      bound[kind].set(value, name);
    };
    config.auth.apps.forEach((a, i) => {
      if (a.name === 'admin') ctx.addIssue({ code: 'custom', path: ['auth', 'apps', i, 'name'], message: "'admin' is reserved for the api_key_env key" });
      if (seen.has(a.name)) ctx.addIssue({ code: 'custom', path: ['auth', 'apps', i, 'name'], message: `duplicate app name '${a.name}'` });
      seen.add(a.name);
      claim('key', a.key_sha256, i, a.name, 'key_sha256');
      claim('mtls', a.mtls_id, i, a.name, 'mtls_id');
      if (a.jwt_client_id !== undefined) {
        if (!config.auth.jwt) ctx.addIssue({ code: 'custom', path: ['auth', 'apps', i, 'jwt_client_id'], message: 'jwt_client_id needs [auth.jwt]' });
        if (a.jwt_issuer !== undefined && !issuers.includes(a.jwt_issuer)) {
          ctx.addIssue({ code: 'custom', path: ['auth', 'apps', i, 'jwt_issuer'], message: 'jwt_issuer must be one of [auth.jwt] issuer' });
        }
        if (a.jwt_issuer === undefined && issuers.length > 1) {
          ctx.addIssue({
            code: 'custom',
            path: ['auth', 'apps', i, 'jwt_issuer'],
            message: '[auth.jwt] trusts several issuers: name the one whose client this is (jwt_issuer)',
          });
        }
        claim('jwt', `${a.jwt_issuer ?? issuers[0] ?? ''}\u0000${a.jwt_client_id}`, i, a.name, 'jwt_client_id');
      }
      if (a.mtls_id !== undefined && !config.server.tls_client_ca_file) {
        ctx.addIssue({ code: 'custom', path: ['auth', 'apps', i, 'mtls_id'], message: 'mtls_id needs server.tls_client_ca_file' });
      }
    });
  });

export type VaultConfig = z.infer<typeof configSchema>;
export const CONFIG_SECTIONS = ['server', 'storage', 'auth', 'purge', 'audit', 'keys', 'limits', 'metrics', 'log'] as const;

/** host:port → parts; IPv6 hosts come in brackets. */
export function splitListenAddr(listen: string): { host: string; port: number } {
  const sep = listen.lastIndexOf(':');
  return { host: listen.slice(0, sep).replace(/^\[(.*)\]$/, '$1'), port: Number(listen.slice(sep + 1)) };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
