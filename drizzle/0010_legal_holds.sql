CREATE TABLE "vault"."legal_holds" (
	"name" text PRIMARY KEY NOT NULL,
	"purpose" text NOT NULL,
	"external_ids" text[],
	"owner_app" text,
	"reason" text NOT NULL,
	"case_ref" text,
	"created_by" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "legal_holds_purpose_idx" ON "vault"."legal_holds" USING btree ("purpose");