CREATE TABLE "vault"."purge_receipts" (
	"purge_log_id" bigint PRIMARY KEY NOT NULL,
	"kid" text NOT NULL,
	"jws" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL
);
