CREATE TABLE "vault"."idempotency_keys" (
	"app" text NOT NULL,
	"key" text NOT NULL,
	"request_sha256" text NOT NULL,
	"status" integer NOT NULL,
	"answer" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "idempotency_keys_app_key_pk" PRIMARY KEY("app","key")
);
--> statement-breakpoint
CREATE INDEX "idempotency_keys_created_idx" ON "vault"."idempotency_keys" USING btree ("created_at");