CREATE TABLE "vault"."sweep_runs" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "vault"."sweep_runs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"started_at" timestamp (3) with time zone NOT NULL,
	"finished_at" timestamp (3) with time zone,
	"trigger" text NOT NULL,
	"actor_app" text NOT NULL,
	"status" text NOT NULL,
	"dry_run" boolean DEFAULT false NOT NULL,
	"purged_total" integer DEFAULT 0 NOT NULL,
	"counts" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"error" text
);
--> statement-breakpoint
ALTER TABLE "vault"."purge_log" ADD COLUMN "sweep_run_id" bigint;--> statement-breakpoint
CREATE INDEX "entries_purpose_created_idx" ON "vault"."entries" USING btree ("purpose","created_at") WHERE "vault"."entries"."purged_at" is null;