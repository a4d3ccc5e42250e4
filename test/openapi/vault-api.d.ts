// Generated from the /openapi.json the vault serves, by `npm run openapi:types` (test/openapi/client.test.ts). Do not edit.
export interface paths {
  '/health': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Liveness and database reachability (as /readyz)
     * @description Who: public.
     */
    get: operations['health'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/readyz': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Readiness: the database answers and the vault is not draining (a readiness probe: take the pod out of the Service, never restart it)
     * @description Who: public.
     */
    get: operations['readyz'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/livez': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Liveness: the process serves requests; the database is not consulted (a liveness probe: a database outage must not restart every pod)
     * @description Who: public.
     */
    get: operations['livez'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/.well-known/jwks.json': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Public keys that sign evidence: purge receipts, audit checkpoints, verification records
     * @description Who: public.
     */
    get: operations['jwksRead'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/openapi.json': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * This document
     * @description Who: authenticated.
     */
    get: operations['openapiRead'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/metrics': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Prometheus metrics
     * @description Who: admin, auditor.
     */
    get: operations['metricsRead'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/vault/{purpose}/{external_id}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Retrieve the blob and its metadata
     * @description Who: per access policy.
     */
    get: operations['retrieve'];
    /**
     * Store or replace an encrypted blob
     * @description Who: per access policy.
     */
    put: operations['store'];
    post?: never;
    /**
     * Purge now; returns the purge receipt
     * @description Who: per access policy.
     */
    delete: operations['purge'];
    options?: never;
    /**
     * Existence and expiry, no body, no retrieval counted
     * @description Who: per access policy.
     */
    head: operations['exists'];
    patch?: never;
    trace?: never;
  };
  '/vault/{purpose}/{external_id}/rewrap': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Replace the ciphertext with the same data under another key (re-keying); nothing else of the entry changes
     * @description Who: per access policy.
     */
    post: operations['rewrap'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/vault/{purpose}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List metadata of the entries the caller may retrieve
     * @description Who: per access policy.
     */
    get: operations['list'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/vault/{purpose}/_batch': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Many gets, heads, puts, deletes and re-wraps of one purpose: one result per item, in request order
     * @description Who: per access policy.
     */
    post: operations['batch'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/admin/retention-policies': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List retention policies
     * @description Who: admin.
     */
    get: operations['retentionPolicyList'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/admin/retention-policies/{purpose}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Read a retention policy
     * @description Who: admin.
     */
    get: operations['retentionPolicyGet'];
    /**
     * Create or replace a retention policy
     * @description Who: admin.
     */
    put: operations['retentionPolicyPut'];
    post?: never;
    /**
     * Delete a retention policy
     * @description Who: admin.
     */
    delete: operations['retentionPolicyDelete'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/admin/access-policies': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List access policies (built-ins included)
     * @description Who: admin.
     */
    get: operations['accessPolicyList'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/admin/access-policies/{name}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Read an access policy
     * @description Who: admin.
     */
    get: operations['accessPolicyGet'];
    /**
     * Create or change a custom access policy (one in use may only be narrowed)
     * @description Who: admin.
     */
    put: operations['accessPolicyPut'];
    post?: never;
    /**
     * Delete a custom access policy
     * @description Who: admin.
     */
    delete: operations['accessPolicyDelete'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/admin/keys': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List the registered key references
     * @description Who: admin, auditor.
     */
    get: operations['keyList'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/admin/keys/{key_ref}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * A key reference and what still sits under it: live entries, the oldest ciphertext, entries past the cryptoperiod
     * @description Who: admin, auditor.
     */
    get: operations['keyGet'];
    /**
     * Register a key reference, or move its status forward (active → retired → compromised)
     * @description Who: admin.
     */
    put: operations['keyPut'];
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/admin/holds': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List the legal holds with the entries each keeps
     * @description Who: admin, auditor.
     */
    get: operations['holdList'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/admin/holds/{name}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * A legal hold, how many entries it keeps and how many of them are past their retention
     * @description Who: admin, auditor.
     */
    get: operations['holdGet'];
    /**
     * Place or change a legal hold: nothing destroys the entries it covers until it is released
     * @description Who: admin.
     */
    put: operations['holdPut'];
    post?: never;
    /**
     * Release a legal hold; the next sweep purges what is due
     * @description Who: admin.
     */
    delete: operations['holdDelete'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/admin/purge/sweep': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Run a purge sweep now (or a dry run)
     * @description Who: admin.
     */
    post: operations['sweep'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/admin/purge/sweeps': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * The sweep record, newest first
     * @description Who: admin, auditor.
     */
    get: operations['sweepList'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/compliance/report': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * PCI DSS evidence snapshot: JSON, the assessor’s HTML page (Accept: text/html) or the signed JSON (Accept: application/jose)
     * @description Who: admin, auditor.
     */
    get: operations['complianceReport'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/compliance/report.html': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * The assessor’s HTML page of the PCI DSS evidence snapshot, whatever the Accept header
     * @description Who: admin, auditor.
     */
    get: operations['complianceReportPage'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/admin/access-log': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Query the access log, newest first
     * @description Who: admin, auditor.
     */
    get: operations['accessLogRead'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/admin/purge-log': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Query the purge log with proofs and receipts
     * @description Who: admin, auditor.
     */
    get: operations['purgeLogRead'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/admin/audit/verify': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Recompute the audit seals made since the last signed verification (?full=true: all of them); says where the trail breaks, and whether it still extends a signed checkpoint
     * @description Who: admin, auditor.
     */
    get: operations['auditVerify'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/admin/audit/checkpoint': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * The chain heads of both logs now, signed with the audit key (keep it outside the database)
     * @description Who: admin, auditor.
     */
    get: operations['auditCheckpoint'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/admin/audit/seal': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Seal the logs now
     * @description Who: admin.
     */
    post: operations['auditSeal'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
}
export type webhooks = Record<string, never>;
export interface components {
  schemas: {
    /** @description The database answers and the vault is not draining. */
    Ready: {
      /** @constant */
      status: 'ok';
      /** @constant */
      database: 'up';
    };
    /** @description Draining (database not consulted) or the database does not answer. */
    NotReady: {
      /** @enum {string} */
      status: 'draining' | 'unavailable';
      /** @enum {string} */
      database: 'unknown' | 'down';
    };
    /** @description The process serves requests. */
    Alive: {
      /** @constant */
      status: 'ok';
    };
    /** @description The public keys that sign evidence; empty without a signing key. */
    Jwks: {
      keys: components['schemas']['Jwk'][];
    };
    /** @description A public key (RFC 7517). */
    Jwk: {
      kty: string;
      kid: string;
    } & {
      [key: string]: unknown;
    };
    /** @description An OpenAPI 3.1 document. */
    OpenApiDocument: {
      openapi: string;
      info: {
        title: string;
        version: string;
      } & {
        [key: string]: unknown;
      };
      paths: {
        [key: string]: unknown;
      };
    } & {
      [key: string]: unknown;
    };
    /** @description An entry's metadata (never its value). */
    EntryMeta: {
      purpose: string;
      external_id: string;
      algorithm_hint: string | null;
      key_ref: string | null;
      metadata: {
        [key: string]: unknown;
      } | null;
      fingerprint: string | null;
      access_policy: string;
      owner_app: string;
      etag: string;
      /** Format: date-time */
      created_at: string;
      /** Format: date-time */
      updated_at: string;
      /** Format: date-time */
      expires_at: string;
      /** Format: date-time */
      value_written_at: string;
    };
    /** @description An entry with its value exactly as stored, and its metadata. */
    Entry: {
      purpose: string;
      external_id: string;
      algorithm_hint: string | null;
      key_ref: string | null;
      metadata: {
        [key: string]: unknown;
      } | null;
      fingerprint: string | null;
      access_policy: string;
      owner_app: string;
      etag: string;
      /** Format: date-time */
      created_at: string;
      /** Format: date-time */
      updated_at: string;
      /** Format: date-time */
      expires_at: string;
      /** Format: date-time */
      value_written_at: string;
      encrypted_value: string;
    };
    /** @description What was purged, how, and the SHA-256 proof (and signed receipt) over its record. */
    PurgeReceipt: {
      /** @constant */
      purged: true;
      purpose: string;
      external_id: string;
      /** @enum {string} */
      method: 'physical-delete' | 'crypto-shred' | 'retention-expire' | 'replace' | 'rewrap';
      reason: string;
      /** Format: date-time */
      purged_at: string;
      proof: string | null;
      record: string;
      receipt: string | null;
      purge_log_id: number;
    };
    /** @description Live entries the caller may retrieve, ordered by external_id; pass next_cursor back for the next page. */
    EntryPage: {
      items: components['schemas']['ListedEntry'][];
      next_cursor: string | null;
    };
    /** @description A listed entry: its metadata and the age of its ciphertext in days. */
    ListedEntry: {
      purpose: string;
      external_id: string;
      algorithm_hint: string | null;
      key_ref: string | null;
      metadata: {
        [key: string]: unknown;
      } | null;
      fingerprint: string | null;
      access_policy: string;
      owner_app: string;
      etag: string;
      /** Format: date-time */
      created_at: string;
      /** Format: date-time */
      updated_at: string;
      /** Format: date-time */
      expires_at: string;
      /** Format: date-time */
      value_written_at: string;
      ciphertext_age_days: number;
    };
    /** @description One result per item, in request order. */
    BatchResults: {
      results: components['schemas']['BatchItemResult'][];
    };
    /** @description One item's answer, in request order. */
    BatchItemResult: {
      external_id: string;
      status: number;
      etag?: string;
      entry?: components['schemas']['Entry'] | components['schemas']['EntryMeta'];
      /** Format: date-time */
      expires_at?: string;
      receipt?: components['schemas']['PurgeReceipt'];
      problem?: components['schemas']['Problem'];
    };
    /** @description An error: application/problem+json (RFC 9457), never a stack, SQL text, a submitted value or a credential. */
    Problem: {
      type: string;
      title: string;
      status: number;
      detail: string;
      request_id: string | null;
      code?: string;
      errors?: {
        location: string;
        message: string;
      }[];
    };
    /** @description Every retention policy, by purpose (one page). */
    RetentionPolicyPage: {
      items: components['schemas']['RetentionPolicy'][];
      next_cursor: null;
    };
    /** @description A purpose's retention policy. */
    RetentionPolicy: {
      purpose: string;
      max_retention_days: number;
      default_ttl_days: number | null;
      /** @enum {string} */
      purge_method: 'physical-delete' | 'crypto-shred' | 'retention-expire';
      require_purge_proof: boolean;
      description: string | null;
      store_apps: string[] | null;
      summary: string;
      /** Format: date-time */
      created_at: string;
      /** Format: date-time */
      updated_at: string;
    };
    /** @description Every access policy, built-ins included (one page). */
    AccessPolicyPage: {
      items: components['schemas']['AccessPolicy'][];
      next_cursor: null;
    };
    /** @description An access policy: who may store, retrieve and purge entries under it. */
    AccessPolicy: {
      name: string;
      description: string | null;
      rules: {
        store: components['schemas']['AccessRule'];
        retrieve: components['schemas']['AccessRule'];
        purge: components['schemas']['AccessRule'];
      };
      builtin: boolean;
      /** Format: date-time */
      created_at: string;
      /** Format: date-time */
      updated_at: string;
    };
    /** @description One operation’s rule: one of `allow`, then `allowed_apps` and `require_identity`. */
    AccessRule: {
      allow: ('any' | 'owner' | 'same-purpose' | 'admin') | ('any' | 'owner' | 'same-purpose' | 'admin')[];
      allowed_apps?: string[];
      require_identity?: boolean;
      max_retrievals?: number;
    };
    /** @description Registered key references, by key_ref; pass next_cursor back for the next page. */
    KeyPage: {
      items: components['schemas']['KeyRef'][];
      next_cursor: string | null;
    };
    /** @description A key reference: the vault’s record of a key it never holds. */
    KeyRef: {
      key_ref: string;
      /** @enum {string} */
      status: 'active' | 'retired' | 'compromised';
      cryptoperiod_days: number | null;
      description: string | null;
      /** Format: date-time */
      created_at: string;
      /** Format: date-time */
      updated_at: string;
    };
    /** @description A key reference with its live entries, the oldest ciphertext under it and the entries past its cryptoperiod. */
    KeyView: {
      key_ref: string;
      /** @enum {string} */
      status: 'active' | 'retired' | 'compromised';
      cryptoperiod_days: number | null;
      description: string | null;
      /** Format: date-time */
      created_at: string;
      /** Format: date-time */
      updated_at: string;
      live_entries: number;
      oldest_ciphertext: string | null;
      entries_past_cryptoperiod: number;
    };
    /** @description Every legal hold (one page). */
    LegalHoldPage: {
      items: components['schemas']['LegalHold'][];
      next_cursor: null;
    };
    /** @description A legal hold, how many entries it keeps and how many of them are past their retention. */
    LegalHold: {
      name: string;
      purpose: string;
      external_ids: string[] | null;
      owner_app: string | null;
      reason: string;
      case_ref: string | null;
      created_by: string;
      /** Format: date-time */
      created_at: string;
      /** Format: date-time */
      updated_at: string;
      entries_kept: number;
      entries_past_retention: number;
    };
    SweepAnswer: components['schemas']['SweepRun'] | components['schemas']['SweepPreview'];
    /** @description A sweep that ran: what it purged. */
    SweepRun: {
      /** @constant */
      dry_run: false;
      sweep_run_id: number;
      /** Format: date-time */
      started_at: string;
      /** Format: date-time */
      finished_at: string;
      purged: number;
      counts: components['schemas']['SweepCounts'];
    };
    /** @description purpose → purge method (or `held`) → number of entries. */
    SweepCounts: {
      [key: string]: {
        [key: string]: number;
      };
    };
    /** @description A dry run: what a sweep now would purge; nothing changed. */
    SweepPreview: {
      /** @constant */
      dry_run: true;
      would_purge: number;
      counts: components['schemas']['SweepCounts'];
      items: {
        purpose: string;
        external_id: string;
        /** Format: date-time */
        expires_at: string;
        method: string;
        /** @enum {string} */
        cause: 'expired' | 'max_retention';
      }[];
    };
    /** @description The sweep record, newest first (one page). */
    SweepRecordPage: {
      items: components['schemas']['SweepRecord'][];
      next_cursor: null;
    };
    /** @description One sweep, scheduled or requested. */
    SweepRecord: {
      sweep_run_id: number;
      /** Format: date-time */
      started_at: string;
      finished_at: string | null;
      trigger: string;
      requested_by: string;
      status: string;
      purged: number;
      counts: components['schemas']['SweepCounts'];
      error: string | null;
    };
    /** @description A PCI DSS evidence snapshot. */
    ComplianceReport: {
      /** Format: date-time */
      generated_at: string;
      window: {
        days: number;
        /** Format: date-time */
        since: string;
        /** Format: date-time */
        until: string;
      };
      summary: components['schemas']['ReportSummary'];
      by_purpose: {
        [key: string]: components['schemas']['ReportPurpose'];
      };
      purge_compliance: components['schemas']['ReportPurgeCompliance'];
      access_summary: components['schemas']['ReportAccessSummary'];
      key_staleness: components['schemas']['ReportKeyStaleness'];
      legal_holds: components['schemas']['ReportLegalHolds'];
      keys: components['schemas']['ReportKeys'];
      audit: components['schemas']['ReportAudit'];
    };
    /** @description Entries and purges over all purposes. */
    ReportSummary: {
      total_entries: number;
      active_entries: number;
      expired_pending_purge: number;
    } & {
      [key: string]: unknown;
    };
    /** @description One purpose: its policy and figures. */
    ReportPurpose: {
      [key: string]: unknown;
    };
    /** @description Sweeps, purges and proofs. */
    ReportPurgeCompliance: {
      purge_proof_available: boolean;
      purge_sweep_last_run: string | null;
    } & {
      [key: string]: unknown;
    };
    /** @description Accesses and denials. */
    ReportAccessSummary: {
      total_accesses_in_window: number;
      denied_accesses_in_window: number;
    } & {
      [key: string]: unknown;
    };
    /** @description Entries per key_ref and their age. */
    ReportKeyStaleness: {
      [key: string]: unknown;
    };
    /** @description Legal holds and what they keep past retention. */
    ReportLegalHolds: {
      holds: {
        [key: string]: unknown;
      }[];
    } & {
      [key: string]: unknown;
    };
    /** @description Registered keys, cryptoperiods and re-wraps. */
    ReportKeys: {
      [key: string]: unknown;
    };
    /** @description The audit trail: verifications, seals, archives. */
    ReportAudit: {
      [key: string]: unknown;
    };
    /** @description Access-log rows, newest first; pass next_cursor back for the next page. */
    AccessLogPage: {
      items: components['schemas']['AccessLogRecord'][];
      next_cursor: string | null;
    };
    /** @description One request that reached the vault, granted or denied. */
    AccessLogRecord: {
      id: number;
      /** Format: date-time */
      created_at: string;
      request_id: string | null;
      operation: string;
      purpose: string | null;
      external_id: string | null;
      app: string | null;
      identity: string | null;
      auth_method: string | null;
      client_addr: string | null;
      granted: boolean;
      status: number;
      reason: string | null;
    };
    /** @description Purge-log rows, newest first; pass next_cursor back for the next page. */
    PurgeLogPage: {
      items: components['schemas']['PurgeLogRecord'][];
      next_cursor: string | null;
    };
    /** @description One destroyed entry (or version), with its proof and signed receipt. */
    PurgeLogRecord: {
      id: number;
      /** Format: date-time */
      purged_at: string;
      purpose: string;
      external_id: string;
      /** @enum {string} */
      method: 'physical-delete' | 'crypto-shred' | 'retention-expire' | 'replace' | 'rewrap';
      reason: string;
      actor_app: string;
      actor_identity: string | null;
      request_id: string | null;
      sweep_run_id: number | null;
      proof: string | null;
      record: string;
      receipt: string | null;
    };
    /** @description The audit seals recomputed: intact, or where the trail breaks. */
    AuditVerification: {
      /** @enum {string} */
      status: 'intact' | 'tampered' | 'truncated';
      /** Format: date-time */
      verified_at: string;
      /** @enum {string} */
      mode: 'full' | 'incremental';
      since: {
        /** Format: date-time */
        verified_at: string;
      } | null;
      proves: string;
      checkpoint: {
        /** Format: date-time */
        issued_at: string;
        /** @enum {string} */
        status: 'extends' | 'truncated';
      } | null;
      logs: components['schemas']['LogVerification'][];
    };
    /** @description One log’s seals recomputed. */
    LogVerification: {
      /** @enum {string} */
      log: 'access_log' | 'purge_log';
      /** @enum {string} */
      status: 'intact' | 'tampered' | 'truncated';
      from_seal_no: number;
      seals_checked: number;
      rows_checked: number;
      seals_pruned: number;
      last_sealed_id: number | null;
      last_seal_at: string | null;
      head_seal_no: number | null;
      head_hash: string | null;
      pending_rows: number;
      partitions: string[];
      first_failure: {
        seal_no?: number;
        row_id?: number;
        problem: string;
      } | null;
      checkpoint?: {
        /** @enum {string} */
        status: 'extends' | 'truncated';
        seal_no: number;
        missing_seals?: number[];
        replaced_seals?: number[];
      };
    };
    /** @description The chain heads of both logs now, signed. */
    AuditCheckpoint: {
      checkpoint: string;
      logs: components['schemas']['ChainHead'][];
    };
    /** @description The newest seal of one log. */
    ChainHead: {
      /** @enum {string} */
      log: 'access_log' | 'purge_log';
      seal_no: number;
      last_id: number | null;
      rows: number;
      hash: string;
      /** Format: date-time */
      sealed_at: string;
    };
    /** @description The seals this request wrote (none when nothing was pending). */
    AuditSeals: {
      seals: {
        /** @enum {string} */
        log: 'access_log' | 'purge_log';
        seal_no: number;
        rows: number;
        last_id: number;
        hash: string;
      }[];
    };
  };
  responses: never;
  parameters: never;
  requestBodies: never;
  headers: never;
  pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
  health: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description ok */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Ready'];
        };
      };
      /** @description database down or draining */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['NotReady'];
        };
      };
    };
  };
  readyz: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description ready */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Ready'];
        };
      };
      /** @description database down or draining */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['NotReady'];
        };
      };
    };
  };
  livez: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description alive */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Alive'];
        };
      };
    };
  };
  jwksRead: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description JWKS */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Jwks'];
        };
      };
    };
  };
  openapiRead: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description OpenAPI 3.1 */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['OpenApiDocument'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  metricsRead: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description text exposition */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'text/plain': string;
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin or auditor role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  retrieve: {
    parameters: {
      query?: never;
      header?: {
        /** @description On a store, `*`: create only, 412 if a live entry exists. On a GET or HEAD, the ETags you hold: 304 with no body when one of them is current (no retrieval spent). */
        'If-None-Match'?: string;
      };
      path: {
        purpose: string;
        external_id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description the entry (ETag) */
      200: {
        headers: {
          /** @description The entry version's strong entity tag (quoted); send it back in If-Match or If-None-Match. */
          ETag?: string;
          /** @description When the entry expires (RFC 3339). */
          'X-Vault-Expires-At'?: string;
          /** @description When the entry was last written (HTTP-date). */
          'Last-Modified'?: string;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Entry'];
        };
      };
      /** @description If-None-Match lists the current ETag: no body, no retrieval spent (judged and audited like the GET; 403/404/410 come first) */
      304: {
        headers: {
          /** @description The entry version's strong entity tag (quoted); send it back in If-Match or If-None-Match. */
          ETag?: string;
          /** @description When the entry expires (RFC 3339). */
          'X-Vault-Expires-At'?: string;
          /** @description When the entry was last written (HTTP-date). */
          'Last-Modified'?: string;
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description denied by the retrieve rule or retrieval budget spent */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description unknown entry */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description expired or purged */
      410: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  store: {
    parameters: {
      query?: never;
      header?: {
        /** @description Apply only to the version named: one or more quoted ETags, or `*` for any existing entry (strong comparison; a weak `W/"…"` tag never matches). 412 when it does not match. A re-wrap requires it, with the ETag you read (not `*`): 428 without it. */
        'If-Match'?: string;
        /** @description On a store, `*`: create only, 412 if a live entry exists. On a GET or HEAD, the ETags you hold: 304 with no body when one of them is current (no retrieval spent). */
        'If-None-Match'?: string;
        /** @description Safe retries (1–128 printable characters): a repeat of the same request by the same app within 24 hours gets the first answer again with `Idempotent-Replayed: true` and is not applied again; the same key with another request is 422, a repeat while the first runs 409. */
        'Idempotency-Key'?: string;
      };
      path: {
        purpose: string;
        external_id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          encrypted_value: string;
          algorithm_hint?: string;
          key_ref?: string;
          metadata?: {
            [key: string]: unknown;
          };
          /** Format: date-time */
          expires_at?: string;
          access_policy?: string;
          fingerprint?: string;
        };
      };
    };
    responses: {
      /** @description replaced (ETag) */
      200: {
        headers: {
          /** @description The entry version's strong entity tag (quoted); send it back in If-Match or If-None-Match. */
          ETag?: string;
          /** @description Present (`true`) when this is the kept answer to an earlier request with the same Idempotency-Key. */
          'Idempotent-Replayed'?: 'true';
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['EntryMeta'];
        };
      };
      /** @description created (ETag, Location) */
      201: {
        headers: {
          /** @description The entry version's strong entity tag (quoted); send it back in If-Match or If-None-Match. */
          ETag?: string;
          /** @description The entry's path. */
          Location?: string;
          /** @description Present (`true`) when this is the kept answer to an earlier request with the same Idempotency-Key. */
          'Idempotent-Replayed'?: 'true';
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['EntryMeta'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description denied by the store rule, the purpose's store_apps, ownership, or (a replace) the current policy's store and purge rules */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the entry is under a legal hold (legal_hold), is being written concurrently, or a request with this Idempotency-Key is still running */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description If-Match / If-None-Match failed */
      412: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description value too large */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description not application/json */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no retention policy, unknown access policy, expires_at outside the retention window, a key_ref that may not take new data, or an Idempotency-Key used for another request */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  purge: {
    parameters: {
      query?: never;
      header?: {
        /** @description Safe retries (1–128 printable characters): a repeat of the same request by the same app within 24 hours gets the first answer again with `Idempotent-Replayed: true` and is not applied again; the same key with another request is 422, a repeat while the first runs 409. */
        'Idempotency-Key'?: string;
      };
      path: {
        purpose: string;
        external_id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description purge receipt with SHA-256 proof */
      200: {
        headers: {
          /** @description Present (`true`) when this is the kept answer to an earlier request with the same Idempotency-Key. */
          'Idempotent-Replayed'?: 'true';
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['PurgeReceipt'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description denied by the purge rule */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description unknown entry */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the entry is under a legal hold (legal_hold), or a request with this Idempotency-Key is still running */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description already purged */
      410: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the Idempotency-Key was used for another request */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  exists: {
    parameters: {
      query?: never;
      header?: {
        /** @description On a store, `*`: create only, 412 if a live entry exists. On a GET or HEAD, the ETags you hold: 304 with no body when one of them is current (no retrieval spent). */
        'If-None-Match'?: string;
      };
      path: {
        purpose: string;
        external_id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description exists (ETag, X-Vault-Expires-At) */
      200: {
        headers: {
          /** @description The entry version's strong entity tag (quoted); send it back in If-Match or If-None-Match. */
          ETag?: string;
          /** @description When the entry expires (RFC 3339). */
          'X-Vault-Expires-At'?: string;
          /** @description When the entry was last written (HTTP-date). */
          'Last-Modified'?: string;
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description If-None-Match lists the current ETag (judged and audited like the HEAD; 403/404/410 come first) */
      304: {
        headers: {
          /** @description The entry version's strong entity tag (quoted); send it back in If-Match or If-None-Match. */
          ETag?: string;
          /** @description When the entry expires (RFC 3339). */
          'X-Vault-Expires-At'?: string;
          /** @description When the entry was last written (HTTP-date). */
          'Last-Modified'?: string;
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description denied */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description unknown entry */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description expired or purged */
      410: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  rewrap: {
    parameters: {
      query?: never;
      header: {
        /** @description Apply only to the version named: one or more quoted ETags, or `*` for any existing entry (strong comparison; a weak `W/"…"` tag never matches). 412 when it does not match. A re-wrap requires it, with the ETag you read (not `*`): 428 without it. */
        'If-Match': string;
        /** @description Safe retries (1–128 printable characters): a repeat of the same request by the same app within 24 hours gets the first answer again with `Idempotent-Replayed: true` and is not applied again; the same key with another request is 422, a repeat while the first runs 409. */
        'Idempotency-Key'?: string;
      };
      path: {
        purpose: string;
        external_id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          encrypted_value: string;
          key_ref: string;
          algorithm_hint?: string;
        };
      };
    };
    responses: {
      /** @description the entry under its new key (ETag) */
      200: {
        headers: {
          /** @description The entry version's strong entity tag (quoted); send it back in If-Match or If-None-Match. */
          ETag?: string;
          /** @description Present (`true`) when this is the kept answer to an earlier request with the same Idempotency-Key. */
          'Idempotent-Replayed'?: 'true';
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['EntryMeta'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description denied by the current policy's store or purge rule, or ownership */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description unknown entry */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a request with this Idempotency-Key is still running, or the entry is being written concurrently */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description expired or purged */
      410: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description If-Match does not match */
      412: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description value too large */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description not application/json */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the new key_ref is retired, compromised, or (keys.require_registered) not registered; the ciphertext or key is unchanged; or the Idempotency-Key was used for another request */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description If-Match is required */
      428: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  list: {
    parameters: {
      query?: {
        limit?: number;
        cursor?: string;
        expiring_before?: string;
        fingerprint?: string;
        owner_app?: string;
        key_ref?: string;
      };
      header?: never;
      path: {
        purpose: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description { items, next_cursor } */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['EntryPage'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description purpose outside the app scope */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  batch: {
    parameters: {
      query?: never;
      header?: {
        /** @description Safe retries (1–128 printable characters): a repeat of the same request by the same app within 24 hours gets the first answer again with `Idempotent-Replayed: true` and is not applied again; the same key with another request is 422, a repeat while the first runs 409. */
        'Idempotency-Key'?: string;
      };
      path: {
        purpose: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          operations: {
            /** @enum {string} */
            op: 'get' | 'head' | 'put' | 'delete' | 'rewrap';
            external_id: string;
            body?: {
              [key: string]: unknown;
            };
            if_match?: string;
            /** @constant */
            if_none_match?: '*';
          }[];
          atomic?: boolean;
        };
      };
    };
    responses: {
      /** @description { results: [ { external_id, status, etag?, entry?, expires_at?, receipt?, problem? } ] } in request order; each status is what the single call would answer (424: not applied, another item of an atomic batch failed) */
      200: {
        headers: {
          /** @description Present (`true`) when this is the kept answer to an earlier request with the same Idempotency-Key. */
          'Idempotent-Replayed'?: 'true';
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['BatchResults'];
        };
      };
      /** @description a malformed batch envelope, or an Idempotency-Key on a batch with reads (nothing applied) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a batch with this Idempotency-Key is still running */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description more items than limits.batch_max_operations, or a body over limits.batch_max_bytes */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description not application/json */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the Idempotency-Key was used for another request */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  retentionPolicyList: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description { items } */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['RetentionPolicyPage'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  retentionPolicyGet: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        purpose: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description the policy */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['RetentionPolicy'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description none */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  retentionPolicyPut: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        purpose: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          max_retention_days: number;
          default_ttl_days?: number | null;
          /**
           * @default physical-delete
           * @enum {string}
           */
          purge_method?: 'physical-delete' | 'crypto-shred' | 'retention-expire';
          /** @default true */
          require_purge_proof?: boolean;
          description?: string | null;
          store_apps?: string[] | null;
        };
      };
    };
    responses: {
      /** @description replaced */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['RetentionPolicy'];
        };
      };
      /** @description created */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['RetentionPolicy'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description not application/json */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  retentionPolicyDelete: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        purpose: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description deleted */
      204: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description none */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description entries of the purpose exist */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  accessPolicyList: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description { items } */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['AccessPolicyPage'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  accessPolicyGet: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        name: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description the policy */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['AccessPolicy'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description none */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  accessPolicyPut: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        name: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          description?: string | null;
          rules: {
            store: {
              allow: ('any' | 'owner' | 'same-purpose' | 'admin') | ('any' | 'owner' | 'same-purpose' | 'admin')[];
              allowed_apps?: string[];
              require_identity?: boolean;
              max_retrievals?: number;
            };
            retrieve: {
              allow: ('any' | 'owner' | 'same-purpose' | 'admin') | ('any' | 'owner' | 'same-purpose' | 'admin')[];
              allowed_apps?: string[];
              require_identity?: boolean;
              max_retrievals?: number;
            };
            purge: {
              allow: ('any' | 'owner' | 'same-purpose' | 'admin') | ('any' | 'owner' | 'same-purpose' | 'admin')[];
              allowed_apps?: string[];
              require_identity?: boolean;
              max_retrievals?: number;
            };
          };
        };
      };
    };
    responses: {
      /** @description replaced */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['AccessPolicy'];
        };
      };
      /** @description created */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['AccessPolicy'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description built-in policies are read-only; a policy in use may not be widened (policy_widening_in_use) */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description not application/json */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  accessPolicyDelete: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        name: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description deleted */
      204: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description none */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description built-in, or in use by entries */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  keyList: {
    parameters: {
      query?: {
        limit?: number;
        cursor?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description { items, next_cursor } */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['KeyPage'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin or auditor role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  keyGet: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        key_ref: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description the key and its usage */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['KeyView'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin or auditor role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description not registered */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  keyPut: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        key_ref: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          /** @enum {string} */
          status: 'active' | 'retired' | 'compromised';
          cryptoperiod_days?: number;
          description?: string | null;
        };
      };
    };
    responses: {
      /** @description updated */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['KeyRef'];
        };
      };
      /** @description registered */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['KeyRef'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a status never goes back (key_status_backwards) */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description not application/json */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  holdList: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description { items, next_cursor: null } */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['LegalHoldPage'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin or auditor role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  holdGet: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        name: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description the hold */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['LegalHold'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin or auditor role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description none */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  holdPut: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        name: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          purpose: string;
          external_ids?: string[];
          owner_app?: string;
          reason: string;
          case_ref?: string;
        };
      };
    };
    responses: {
      /** @description changed */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['LegalHold'];
        };
      };
      /** @description placed */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['LegalHold'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description not application/json */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  holdDelete: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        name: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description released */
      204: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description none */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  sweep: {
    parameters: {
      query?: {
        dry_run?: 'true' | 'false';
        limit?: number;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description the sweep run, or what would go */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['SweepAnswer'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  sweepList: {
    parameters: {
      query?: {
        limit?: number;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description { items } */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['SweepRecordPage'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin or auditor role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  complianceReport: {
    parameters: {
      query?: {
        window_days?: number;
        format?: 'json' | 'html' | 'jws';
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description the report */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ComplianceReport'];
          'text/html': string;
          'application/jose': string;
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin or auditor role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a signed report asked of a vault with no evidence key */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  complianceReportPage: {
    parameters: {
      query?: {
        window_days?: number;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description the page (text/html) */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'text/html': string;
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin or auditor role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  accessLogRead: {
    parameters: {
      query?: {
        purpose?: string;
        external_id?: string;
        app?: string;
        operation?: string;
        granted?: 'true' | 'false';
        since?: string;
        until?: string;
        limit?: number;
        cursor?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description { items, next_cursor } */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['AccessLogPage'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin or auditor role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  purgeLogRead: {
    parameters: {
      query?: {
        purpose?: string;
        method?: 'physical-delete' | 'crypto-shred' | 'retention-expire' | 'replace' | 'rewrap';
        since?: string;
        until?: string;
        limit?: number;
        cursor?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description { items, next_cursor } */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['PurgeLogPage'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin or auditor role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  auditVerify: {
    parameters: {
      query?: {
        checkpoint?: string;
        full?: 'true' | 'false';
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description verification report */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['AuditVerification'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin or auditor role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the checkpoint was not signed by this vault */
      422: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  auditCheckpoint: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description { checkpoint, logs } */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['AuditCheckpoint'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin or auditor role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no audit signing key is configured */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  auditSeal: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description the seals written */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['AuditSeals'];
        };
      };
      /** @description invalid input (problem+json names each field) */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description no valid credential */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description the admin role is required */
      403: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description a failing credential past the refusal limits */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description database unavailable; nothing changed */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
}
