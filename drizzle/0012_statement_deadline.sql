-- A self-auditing statement's last check, on the database's clock: past its request's deadline it raises,
-- so the whole statement (its write and its access-log row) rolls back. Called after the write has run —
-- an insert may have waited on another writer's lock — so nothing commits after its caller was answered.
CREATE OR REPLACE FUNCTION vault.before_deadline(deadline timestamptz) RETURNS boolean
  LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF deadline IS NOT NULL AND clock_timestamp() > deadline THEN
    RAISE EXCEPTION 'vault: the statement ran past its request deadline (%)', deadline USING ERRCODE = '57014';
  END IF;
  RETURN true;
END
$$;
