CREATE SCHEMA "vault";
--> statement-breakpoint
CREATE TABLE "vault"."entries" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "vault"."entries_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"purpose" text NOT NULL,
	"external_id" text NOT NULL,
	"encrypted_value" text NOT NULL,
	"algorithm_hint" text,
	"key_ref" text,
	"metadata" jsonb,
	"fingerprint" text,
	"access_policy" text NOT NULL,
	"owner_app" text NOT NULL,
	"owner_identity" text,
	"etag" text NOT NULL,
	"retrieval_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"purged_at" timestamp (3) with time zone,
	CONSTRAINT "entries_shredded_value_empty" CHECK ("vault"."entries"."purged_at" is null or "vault"."entries"."encrypted_value" = '')
);
--> statement-breakpoint
CREATE TABLE "vault"."retention_policies" (
	"purpose" text PRIMARY KEY NOT NULL,
	"max_retention_days" integer NOT NULL,
	"default_ttl_days" integer,
	"purge_method" text NOT NULL,
	"require_purge_proof" boolean DEFAULT true NOT NULL,
	"description" text,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "retention_max_range" CHECK ("vault"."retention_policies"."max_retention_days" between 1 and 36500),
	CONSTRAINT "retention_default_le_max" CHECK ("vault"."retention_policies"."default_ttl_days" is null or ("vault"."retention_policies"."default_ttl_days" >= 1 and "vault"."retention_policies"."default_ttl_days" <= "vault"."retention_policies"."max_retention_days")),
	CONSTRAINT "retention_method" CHECK ("vault"."retention_policies"."purge_method" in ('physical-delete', 'crypto-shred', 'retention-expire'))
);
--> statement-breakpoint
CREATE TABLE "vault"."access_policies" (
	"name" text PRIMARY KEY NOT NULL,
	"description" text,
	"rules" jsonb NOT NULL,
	"builtin" boolean DEFAULT false NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "vault"."access_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "vault"."access_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
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
	"reason" text
);
--> statement-breakpoint
CREATE TABLE "vault"."purge_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "vault"."purge_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"purged_at" timestamp (3) with time zone NOT NULL,
	"purpose" text NOT NULL,
	"external_id" text NOT NULL,
	"method" text NOT NULL,
	"reason" text NOT NULL,
	"actor_app" text NOT NULL,
	"actor_identity" text,
	"request_id" text,
	"record" text NOT NULL,
	"proof" text
);
--> statement-breakpoint
CREATE UNIQUE INDEX "entries_purpose_external_id_key" ON "vault"."entries" USING btree ("purpose","external_id");--> statement-breakpoint
CREATE INDEX "entries_expires_at_idx" ON "vault"."entries" USING btree ("expires_at") WHERE "vault"."entries"."purged_at" is null;--> statement-breakpoint
CREATE INDEX "entries_purpose_fingerprint_idx" ON "vault"."entries" USING btree ("purpose","fingerprint") WHERE "vault"."entries"."fingerprint" is not null;--> statement-breakpoint
CREATE INDEX "entries_access_policy_idx" ON "vault"."entries" USING btree ("access_policy");--> statement-breakpoint
CREATE INDEX "access_log_created_idx" ON "vault"."access_log" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "access_log_purpose_external_idx" ON "vault"."access_log" USING btree ("purpose","external_id");--> statement-breakpoint
CREATE INDEX "purge_log_purged_idx" ON "vault"."purge_log" USING btree ("purged_at","id");--> statement-breakpoint
CREATE INDEX "purge_log_purpose_external_idx" ON "vault"."purge_log" USING btree ("purpose","external_id");