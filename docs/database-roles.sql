-- Least privilege for a production vault (PostgreSQL). Run as the owner of the vault schema, after
-- `vsql-vault migrate` (which the owner runs). The serving role can read and write entries and policies,
-- but can only INSERT and SELECT the evidence tables; the append-only triggers refuse changes to them
-- for every role anyway. Serve with this role and `storage.migrate_on_start = false`.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vsql_vault') THEN
    CREATE ROLE vsql_vault LOGIN;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA vault TO vsql_vault;
GRANT USAGE ON SCHEMA drizzle TO vsql_vault;
GRANT SELECT ON drizzle.__drizzle_migrations TO vsql_vault;

-- State the vault governs.
GRANT SELECT, INSERT, UPDATE, DELETE ON vault.entries TO vsql_vault;
-- Key references: registered and moved forward (a trigger refuses a status going back, a rename and a
-- delete), and only their terms may change.
GRANT SELECT, INSERT ON vault.key_refs TO vsql_vault;
GRANT UPDATE (status, cryptoperiod_days, description, updated_at) ON vault.key_refs TO vsql_vault;
-- Answers kept for Idempotency-Key repeats (24 hours; the sweeper deletes older ones).
GRANT SELECT, INSERT, UPDATE, DELETE ON vault.idempotency_keys TO vsql_vault;
-- Legal holds: placed, changed and released by admins through the vault.
GRANT SELECT, INSERT, UPDATE, DELETE ON vault.legal_holds TO vsql_vault;
-- The holds epoch: advanced by the trigger on legal_holds (as the role that changes a hold), read and
-- share-locked by the one-statement store (FOR SHARE needs UPDATE on a column). Moving it only sends
-- stores to their transaction; the single row can be neither added to nor removed.
GRANT SELECT, UPDATE (epoch) ON vault.holds_epoch TO vsql_vault;
GRANT SELECT, INSERT, UPDATE, DELETE ON vault.retention_policies, vault.access_policies TO vsql_vault;
GRANT SELECT, INSERT, UPDATE ON vault.sweep_runs TO vsql_vault;

-- Evidence: append and read only. (Archive records and prune markers are signed with the audit key: a
-- row the serving role inserts without it is reported as forged and never licenses a prune.)
GRANT SELECT, INSERT ON vault.purge_receipts,
  vault.audit_seals, vault.audit_verifications, vault.audit_archives, vault.audit_prune_markers TO vsql_vault;
-- The logs: INSERT on every column but id, so their ids come from the identity sequence only (no
-- OVERRIDING SYSTEM VALUE: a row can never take the id of a sealed or pruned one).
GRANT SELECT ON vault.access_log, vault.purge_log TO vsql_vault;
GRANT INSERT (created_at, request_id, operation, purpose, external_id, app, identity, auth_method, client_addr, granted, status, reason)
  ON vault.access_log TO vsql_vault;
GRANT INSERT (purged_at, purpose, external_id, method, reason, actor_app, actor_identity, request_id, record, proof, sweep_run_id)
  ON vault.purge_log TO vsql_vault;

-- The logs are partitioned by month; the vault keeps the next months' partitions made (at start and
-- daily) through this one SECURITY DEFINER function, so the serving role needs no CREATE on the schema.
-- Pruning an archived month (DROP of a partition) stays with the owner: `vsql-vault audit prune`.
GRANT EXECUTE ON FUNCTION vault.ensure_log_partitions(timestamptz, timestamptz) TO vsql_vault;

-- Identity columns draw from these sequences.
GRANT USAGE ON ALL SEQUENCES IN SCHEMA vault TO vsql_vault;
