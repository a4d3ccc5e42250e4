CREATE TABLE "vault"."holds_epoch" (
	"one" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"epoch" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "holds_epoch_one_row" CHECK ("vault"."holds_epoch"."one")
);
--> statement-breakpoint
INSERT INTO "vault"."holds_epoch" ("one", "epoch") VALUES (true, 0);--> statement-breakpoint
-- Every change to the holds (placed, changed, released; TRUNCATE included) advances the epoch in the
-- same transaction, so no path that writes legal_holds can forget to: the one-statement store compares
-- the epoch its snapshot saw with the one it share-locks, and destroys nothing when they differ.
CREATE OR REPLACE FUNCTION "vault"."advance_holds_epoch"() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "vault"."holds_epoch" SET "epoch" = "epoch" + 1;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "legal_holds_advance_epoch" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "vault"."legal_holds"
  FOR EACH STATEMENT EXECUTE FUNCTION "vault"."advance_holds_epoch"();
