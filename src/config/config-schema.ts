import { z } from 'zod';

export const PURPOSE_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const APP_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

const listenAddr = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, e.g. "127.0.0.1:8443"')
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'port must be at most 65535');

const app = z
  .object({
    name: z.string().regex(APP_NAME_PATTERN, 'app names are letters, digits and . _ : -'),
    key_sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'expected the hex SHA-256 of the key (64 hex digits), never the key itself')
      .transform((v) => v.toLowerCase()),
    roles: z.array(z.enum(['admin', 'auditor'])).default([]),
    purposes: z.array(z.string().regex(PURPOSE_PATTERN, 'purposes match ^[a-z0-9][a-z0-9_-]{0,63}$')).optional(),
  })
  .strict();

/** Mirrors the TOML sections. `.strict()` everywhere: an unknown key is a mistake worth stopping for. */
export const configSchema = z
  .object({
    server: z
      .object({
        listen_addr: listenAddr.default('127.0.0.1:8443'),
        request_timeout_ms: z.number().int().min(100).max(600_000).default(10_000),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        database_url: z
          .string()
          .regex(/^(postgres(ql)?:\/\/|pglite:\/\/.+)/, 'expected postgres://…, postgresql://…, pglite://PATH or pglite://memory')
          .default('pglite://./vault-data'),
        pool_max: z.number().int().min(1).max(100).default(5),
        migrate_on_start: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        api_key_header: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'expected an HTTP header name').default('X-Vault-Key'),
        api_key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').default('VSQL_VAULT_API_KEY'),
        apps: z.array(app).default([]),
      })
      .strict()
      .prefault({}),
    purge: z
      .object({
        sweep_interval_hours: z.number().positive().max(24 * 366).default(24),
        schedule: z.string().min(1).optional(),
        purge_proof_hash: z.boolean().default(true),
        batch_size: z.number().int().min(1).max(100_000).default(1000),
        sweep_concurrency: z.number().int().min(1).max(8).default(2),
        signing_key_file: z.string().min(1).optional(),
        signing_key_id: z.string().regex(/^[\w.-]{1,128}$/, 'letters, digits, . _ -').optional(),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        max_value_bytes: z.number().int().min(16).max(16 * 1024 * 1024).default(65_536),
        max_metadata_bytes: z.number().int().min(2).max(1024 * 1024).default(4096),
        list_max_limit: z.number().int().min(1).max(10_000).default(1000),
      })
      .strict()
      .prefault({}),
    audit: z
      .object({
        seal_interval_seconds: z.number().int().min(1).max(86_400).default(60),
        seal_grace_seconds: z.number().int().min(1).max(86_400).default(300),
        seal_max_rows: z.number().int().min(100).max(1_000_000).default(100_000),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        enabled: z.boolean().default(false),
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
    config.auth.apps.forEach((a, i) => {
      if (a.name === 'admin') ctx.addIssue({ code: 'custom', path: ['auth', 'apps', i, 'name'], message: "'admin' is reserved for the api_key_env key" });
      if (seen.has(a.name)) ctx.addIssue({ code: 'custom', path: ['auth', 'apps', i, 'name'], message: `duplicate app name '${a.name}'` });
      seen.add(a.name);
    });
  });

export type VaultConfig = z.infer<typeof configSchema>;
export const CONFIG_SECTIONS = ['server', 'storage', 'auth', 'purge', 'audit', 'limits', 'metrics', 'log'] as const;
