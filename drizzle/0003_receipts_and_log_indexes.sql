CREATE TABLE "vault"."purge_receipts" (
	"purge_log_id" bigint PRIMARY KEY NOT NULL,
	"kid" text NOT NULL,
	"jws" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
DROP INDEX "vault"."access_log_created_idx";--> statement-breakpoint
DROP INDEX "vault"."purge_log_purged_idx";--> statement-breakpoint
CREATE INDEX "access_log_created_brin" ON "vault"."access_log" USING brin ("created_at");--> statement-breakpoint
CREATE INDEX "purge_log_purged_brin" ON "vault"."purge_log" USING brin ("purged_at");