-- The evidence tables are append-only for every client, the vault's own role included: any UPDATE,
-- DELETE or TRUNCATE fails. Only a superuser who disables these triggers can change history, and the
-- audit seals (vault.audit_seals) then show where.
CREATE OR REPLACE FUNCTION "vault"."refuse_evidence_change"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'vault.% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER "access_log_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "vault"."access_log"
  FOR EACH STATEMENT EXECUTE FUNCTION "vault"."refuse_evidence_change"();
--> statement-breakpoint
CREATE TRIGGER "purge_log_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "vault"."purge_log"
  FOR EACH STATEMENT EXECUTE FUNCTION "vault"."refuse_evidence_change"();
--> statement-breakpoint
CREATE TRIGGER "purge_receipts_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "vault"."purge_receipts"
  FOR EACH STATEMENT EXECUTE FUNCTION "vault"."refuse_evidence_change"();
--> statement-breakpoint
CREATE TRIGGER "audit_seals_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "vault"."audit_seals"
  FOR EACH STATEMENT EXECUTE FUNCTION "vault"."refuse_evidence_change"();
--> statement-breakpoint
CREATE TRIGGER "audit_verifications_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "vault"."audit_verifications"
  FOR EACH STATEMENT EXECUTE FUNCTION "vault"."refuse_evidence_change"();
