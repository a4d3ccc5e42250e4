import { createHash, timingSafeEqual } from 'node:crypto';
import type { Principal, Role } from '../../kernel/principal';

export interface ApiKeyApp {
  name: string;
  keySha256: string;
  roles: readonly Role[];
  purposes?: readonly string[];
}

export function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Keys are held only as SHA-256 digests and compared digest-to-digest with timingSafeEqual over every
 * known app (no early exit), so neither the key nor which app matched leaks through timing.
 */
export function createApiKeyAuthenticator(apps: readonly ApiKeyApp[]) {
  // One frozen Principal per app, built once: what an API key proves never changes while the vault runs.
  const known = apps.map((app) => {
    const principal: Principal = { kind: 'principal', app: app.name, roles: Object.freeze([...app.roles]), method: 'api_key' };
    if (app.purposes) principal.purposes = Object.freeze([...app.purposes]);
    return { principal: Object.freeze(principal), digest: Buffer.from(app.keySha256, 'hex') };
  });
  return function authenticateApiKey(presented: string): Principal | undefined {
    const digest = sha256(presented);
    let match: Principal | undefined;
    for (const candidate of known) {
      if (timingSafeEqual(candidate.digest, digest) && !match) match = candidate.principal;
    }
    return match;
  };
}
