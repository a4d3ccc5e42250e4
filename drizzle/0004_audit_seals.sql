CREATE TABLE "vault"."audit_seals" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "vault"."audit_seals_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"log" text NOT NULL,
	"seal_no" integer NOT NULL,
	"sealed_at" timestamp (3) with time zone NOT NULL,
	"first_id" bigint,
	"last_id" bigint,
	"row_count" integer NOT NULL,
	"covered" "int8multirange" NOT NULL,
	"covered_total" "int8multirange" NOT NULL,
	"digests" "bytea" NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "vault"."audit_verifications" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "vault"."audit_verifications_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"verified_at" timestamp (3) with time zone NOT NULL,
	"status" text NOT NULL,
	"rows_checked" bigint NOT NULL,
	"report" text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "audit_seals_log_seal_no_key" ON "vault"."audit_seals" USING btree ("log","seal_no");