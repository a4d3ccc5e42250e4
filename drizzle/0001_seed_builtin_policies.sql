-- Built-in access policies (kept equal to BUILTIN_POLICIES in src/domain/access-rules.ts; a test checks).
INSERT INTO "vault"."access_policies" ("name", "description", "rules", "builtin") VALUES
  ('owner-only', 'Default: any authenticated app stores; only the owner app retrieves; owner or admin purges.',
   '{"store":{"allow":"any"},"retrieve":{"allow":"owner"},"purge":{"allow":["owner","admin"]}}', true),
  ('same-purpose', 'Any authenticated app stores; apps explicitly scoped to the purpose retrieve; owner or admin purges.',
   '{"store":{"allow":"any"},"retrieve":{"allow":"same-purpose"},"purge":{"allow":["owner","admin"]}}', true),
  ('open-retrieve', 'Any authenticated app stores and retrieves; owner or admin purges.',
   '{"store":{"allow":"any"},"retrieve":{"allow":"any"},"purge":{"allow":["owner","admin"]}}', true),
  ('admin-only', 'Only admin apps store, retrieve and purge.',
   '{"store":{"allow":"admin"},"retrieve":{"allow":"admin"},"purge":{"allow":"admin"}}', true)
ON CONFLICT ("name") DO NOTHING;
