import type { TestVault } from './test-app';

export const CARD_POLICY = {
  max_retention_days: 365,
  default_ttl_days: 90,
  purge_method: 'physical-delete',
  require_purge_proof: true,
  description: 'Card tokens — max 1 year, default 90 days',
};

/** Creates a retention policy as admin and fails loudly if the vault refuses. */
export async function putRetention(vault: TestVault, purpose: string, body: Record<string, unknown> = CARD_POLICY) {
  const res = await vault.request('PUT', `/admin/retention-policies/${purpose}`, { as: 'admin', body });
  if (res.status !== 201 && res.status !== 200) throw new Error(`retention policy ${purpose}: ${res.status} ${await res.text()}`);
}

export async function putAccessPolicy(vault: TestVault, name: string, rules: Record<string, unknown>, description = 'test policy') {
  const res = await vault.request('PUT', `/admin/access-policies/${name}`, { as: 'admin', body: { description, rules } });
  if (res.status !== 201 && res.status !== 200) throw new Error(`access policy ${name}: ${res.status} ${await res.text()}`);
}

export function storeBody(overrides: Record<string, unknown> = {}) {
  return { encrypted_value: 'vault:v1:AES256-GCM:keyid=7:Y2lwaGVydGV4dA==', ...overrides };
}

export async function store(vault: TestVault, as: string, purpose: string, id: string, overrides: Record<string, unknown> = {}) {
  const res = await vault.request('PUT', `/vault/${purpose}/${id}`, { as, body: storeBody(overrides) });
  if (res.status !== 201 && res.status !== 200) throw new Error(`store ${purpose}/${id}: ${res.status} ${await res.text()}`);
  return res;
}

/** Asserts nothing about status; returns the parsed problem body and checks its shape. */
export async function problem(res: Response) {
  const body = (await res.json()) as {
    type: string;
    title: string;
    status: number;
    detail: string;
    request_id: string;
    code: string;
    errors?: { location: string; message: string }[];
  };
  return body;
}
