CREATE TABLE "vault"."key_refs" (
	"key_ref" text PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"cryptoperiod_days" integer,
	"description" text,
	"created_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "key_refs_status" CHECK ("vault"."key_refs"."status" in ('active', 'retired', 'compromised')),
	CONSTRAINT "key_refs_cryptoperiod" CHECK ("vault"."key_refs"."cryptoperiod_days" is null or "vault"."key_refs"."cryptoperiod_days" between 1 and 3650)
);
--> statement-breakpoint
ALTER TABLE "vault"."entries" ADD COLUMN "value_written_at" timestamp (3) with time zone;--> statement-breakpoint
CREATE INDEX "entries_key_ref_idx" ON "vault"."entries" USING btree ("key_ref") WHERE "vault"."entries"."purged_at" is null;--> statement-breakpoint
-- No backfill (it would rewrite every row under an exclusive lock): a row without value_written_at had its
-- ciphertext last written when the row was (updated_at), and every reader says coalesce(value_written_at, updated_at).--> statement-breakpoint
-- A key's status only goes forward (active → retired → compromised, or active → compromised), for
-- every client: the API refuses it first, this refuses it for anything else.
CREATE OR REPLACE FUNCTION "vault"."refuse_key_status_backwards"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'vault.key_refs: % may not be deleted (retire it)', OLD.key_ref USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.key_ref IS DISTINCT FROM OLD.key_ref THEN
    RAISE EXCEPTION 'vault.key_refs: % may not be renamed', OLD.key_ref USING ERRCODE = 'check_violation';
  END IF;
  IF (CASE OLD.status WHEN 'active' THEN 0 WHEN 'retired' THEN 1 ELSE 2 END)
     > (CASE NEW.status WHEN 'active' THEN 0 WHEN 'retired' THEN 1 ELSE 2 END) THEN
    RAISE EXCEPTION 'vault.key_refs: status of % may not go from % to %', OLD.key_ref, OLD.status, NEW.status
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;--> statement-breakpoint
CREATE TRIGGER "key_refs_status_forward" BEFORE UPDATE OR DELETE ON "vault"."key_refs"
  FOR EACH ROW EXECUTE FUNCTION "vault"."refuse_key_status_backwards"();
