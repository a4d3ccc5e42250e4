CREATE TABLE "vault"."audit_archives" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "vault"."audit_archives_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"created_at" timestamp (3) with time zone NOT NULL,
	"log" text NOT NULL,
	"partition" text NOT NULL,
	"from_time" timestamp (3) with time zone NOT NULL,
	"to_time" timestamp (3) with time zone NOT NULL,
	"row_count" bigint NOT NULL,
	"ids" "int8multirange" NOT NULL,
	"sha256" text NOT NULL,
	"jws" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "vault"."audit_prune_markers" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "vault"."audit_prune_markers_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"pruned_at" timestamp (3) with time zone NOT NULL,
	"log" text NOT NULL,
	"partition" text NOT NULL,
	"row_count" bigint NOT NULL,
	"ids" "int8multirange" NOT NULL,
	"archive_sha256" text NOT NULL,
	"seals" text NOT NULL,
	"jws" text NOT NULL
);
--> statement-breakpoint
-- vault.access_log becomes partitioned by month of created_at: a month that was archived leaves as one partition
-- (DROP), never row by row under the append-only triggers. Its rows are copied over once, ids kept.
ALTER TABLE "vault"."access_log" RENAME TO "access_log_unpartitioned";--> statement-breakpoint
ALTER TABLE "vault"."access_log_unpartitioned" RENAME CONSTRAINT "access_log_pkey" TO "access_log_unpartitioned_pkey";--> statement-breakpoint
ALTER SEQUENCE "vault"."access_log_id_seq" RENAME TO "access_log_unpartitioned_id_seq";--> statement-breakpoint
ALTER INDEX "vault"."access_log_created_brin" RENAME TO "access_log_created_brin_unpartitioned";--> statement-breakpoint
ALTER INDEX "vault"."access_log_purpose_external_idx" RENAME TO "access_log_purpose_external_idx_unpartitioned";--> statement-breakpoint
CREATE TABLE "vault"."access_log" (
	"id" bigint NOT NULL GENERATED ALWAYS AS IDENTITY (sequence name "vault"."access_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"created_at" timestamp (3) with time zone NOT NULL,
	"request_id" text,
	"operation" text NOT NULL,
	"purpose" text,
	"external_id" text,
	"app" text,
	"identity" text,
	"auth_method" text,
	"client_addr" text,
	"granted" boolean NOT NULL,
	"status" integer NOT NULL,
	"reason" text,
	CONSTRAINT "access_log_id_created_at_pk" PRIMARY KEY("id","created_at")
) PARTITION BY RANGE ("created_at");--> statement-breakpoint
CREATE TABLE "vault"."access_log_default" PARTITION OF "vault"."access_log" DEFAULT;--> statement-breakpoint
CREATE INDEX "access_log_created_brin" ON "vault"."access_log" USING brin ("created_at");--> statement-breakpoint
CREATE INDEX "access_log_purpose_external_idx" ON "vault"."access_log" USING btree ("purpose","external_id");--> statement-breakpoint
CREATE TRIGGER "access_log_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "vault"."access_log"
  FOR EACH STATEMENT EXECUTE FUNCTION "vault"."refuse_evidence_change"();--> statement-breakpoint
CREATE TRIGGER "access_log_default_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "vault"."access_log_default"
  FOR EACH STATEMENT EXECUTE FUNCTION "vault"."refuse_evidence_change"();--> statement-breakpoint
-- vault.purge_log becomes partitioned by month of purged_at: a month that was archived leaves as one partition
-- (DROP), never row by row under the append-only triggers. Its rows are copied over once, ids kept.
ALTER TABLE "vault"."purge_log" RENAME TO "purge_log_unpartitioned";--> statement-breakpoint
ALTER TABLE "vault"."purge_log_unpartitioned" RENAME CONSTRAINT "purge_log_pkey" TO "purge_log_unpartitioned_pkey";--> statement-breakpoint
ALTER SEQUENCE "vault"."purge_log_id_seq" RENAME TO "purge_log_unpartitioned_id_seq";--> statement-breakpoint
ALTER INDEX "vault"."purge_log_purged_brin" RENAME TO "purge_log_purged_brin_unpartitioned";--> statement-breakpoint
ALTER INDEX "vault"."purge_log_purpose_external_idx" RENAME TO "purge_log_purpose_external_idx_unpartitioned";--> statement-breakpoint
CREATE TABLE "vault"."purge_log" (
	"id" bigint NOT NULL GENERATED ALWAYS AS IDENTITY (sequence name "vault"."purge_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"purged_at" timestamp (3) with time zone NOT NULL,
	"purpose" text NOT NULL,
	"external_id" text NOT NULL,
	"method" text NOT NULL,
	"reason" text NOT NULL,
	"actor_app" text NOT NULL,
	"actor_identity" text,
	"request_id" text,
	"record" text NOT NULL,
	"proof" text,
	"sweep_run_id" bigint,
	CONSTRAINT "purge_log_id_purged_at_pk" PRIMARY KEY("id","purged_at")
) PARTITION BY RANGE ("purged_at");--> statement-breakpoint
CREATE TABLE "vault"."purge_log_default" PARTITION OF "vault"."purge_log" DEFAULT;--> statement-breakpoint
CREATE INDEX "purge_log_purged_brin" ON "vault"."purge_log" USING brin ("purged_at");--> statement-breakpoint
CREATE INDEX "purge_log_purpose_external_idx" ON "vault"."purge_log" USING btree ("purpose","external_id");--> statement-breakpoint
CREATE TRIGGER "purge_log_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "vault"."purge_log"
  FOR EACH STATEMENT EXECUTE FUNCTION "vault"."refuse_evidence_change"();--> statement-breakpoint
CREATE TRIGGER "purge_log_default_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "vault"."purge_log_default"
  FOR EACH STATEMENT EXECUTE FUNCTION "vault"."refuse_evidence_change"();--> statement-breakpoint
-- Makes the monthly partitions of both sealed logs for every month from p_from to p_to that has none, each
-- with the append-only trigger (a statement on a partition does not fire its parent's). SECURITY DEFINER:
-- the least-privilege serving role may call it (docs/database-roles.sql) without being allowed to create
-- anything else. A month whose rows already went to the default partition is skipped with a warning: those
-- rows stay in the default partition, which is never pruned.
CREATE OR REPLACE FUNCTION "vault"."ensure_log_partitions"(p_from timestamptz, p_to timestamptz) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  lg text;
  m timestamp;
  part text;
  made integer := 0;
BEGIN
  IF p_to - p_from > interval '50 years' THEN
    RAISE EXCEPTION 'ensure_log_partitions: at most fifty years at a time';
  END IF;
  FOREACH lg IN ARRAY ARRAY['access_log', 'purge_log'] LOOP
    m := date_trunc('month', p_from AT TIME ZONE 'UTC');
    WHILE m <= (p_to AT TIME ZONE 'UTC') LOOP
      part := lg || '_y' || to_char(m, 'YYYY') || 'm' || to_char(m, 'MM');
      IF to_regclass('vault.' || part) IS NULL THEN
        BEGIN
          EXECUTE format('CREATE TABLE vault.%I PARTITION OF vault.%I FOR VALUES FROM (%L) TO (%L)', part, lg,
            to_char(m, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), to_char(m + interval '1 month', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
          EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE OR TRUNCATE ON vault.%I FOR EACH STATEMENT EXECUTE FUNCTION vault.refuse_evidence_change()',
            part || '_append_only', part);
          made := made + 1;
        EXCEPTION WHEN check_violation THEN
          RAISE WARNING 'vault.%: rows of this month are in the default partition already; they stay there', part;
        END;
      END IF;
      m := m + interval '1 month';
    END LOOP;
  END LOOP;
  RETURN made;
END
$$;--> statement-breakpoint
REVOKE ALL ON FUNCTION "vault"."ensure_log_partitions"(timestamptz, timestamptz) FROM PUBLIC;--> statement-breakpoint
SELECT "vault"."ensure_log_partitions"(
  least(now(), (SELECT min(created_at) FROM "vault"."access_log_unpartitioned"), (SELECT min(purged_at) FROM "vault"."purge_log_unpartitioned")),
  now() + interval '3 months');--> statement-breakpoint
INSERT INTO "vault"."access_log" (id, created_at, request_id, operation, purpose, external_id, app, identity, auth_method, client_addr, granted, status, reason) OVERRIDING SYSTEM VALUE
  SELECT id, created_at, request_id, operation, purpose, external_id, app, identity, auth_method, client_addr, granted, status, reason FROM "vault"."access_log_unpartitioned";--> statement-breakpoint
INSERT INTO "vault"."purge_log" (id, purged_at, purpose, external_id, method, reason, actor_app, actor_identity, request_id, record, proof, sweep_run_id) OVERRIDING SYSTEM VALUE
  SELECT id, purged_at, purpose, external_id, method, reason, actor_app, actor_identity, request_id, record, proof, sweep_run_id FROM "vault"."purge_log_unpartitioned";--> statement-breakpoint
SELECT setval('"vault"."access_log_id_seq"', coalesce((SELECT max(id) FROM "vault"."access_log_unpartitioned"), 1), (SELECT count(*) > 0 FROM "vault"."access_log_unpartitioned"));--> statement-breakpoint
SELECT setval('"vault"."purge_log_id_seq"', coalesce((SELECT max(id) FROM "vault"."purge_log_unpartitioned"), 1), (SELECT count(*) > 0 FROM "vault"."purge_log_unpartitioned"));--> statement-breakpoint
DROP TABLE "vault"."access_log_unpartitioned";--> statement-breakpoint
DROP TABLE "vault"."purge_log_unpartitioned";--> statement-breakpoint
CREATE TRIGGER "audit_archives_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "vault"."audit_archives"
  FOR EACH STATEMENT EXECUTE FUNCTION "vault"."refuse_evidence_change"();--> statement-breakpoint
CREATE TRIGGER "audit_prune_markers_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "vault"."audit_prune_markers"
  FOR EACH STATEMENT EXECUTE FUNCTION "vault"."refuse_evidence_change"();
