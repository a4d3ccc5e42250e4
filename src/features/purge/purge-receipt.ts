import type { Signer } from '../../kernel/signer';
import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';

export interface ReceiptPayload {
  iss: 'vsql-vault';
  purge_log_id: number;
  purpose: string;
  external_id: string;
  method: string;
  purged_at: string;
  proof: string | null;
  /** The exact canonical record the proof hashes: sha256(record) = proof. */
  record: string;
}

/** The purge receipts' signer: the kernel's evidence signer. */
export type ReceiptSigner = Signer;

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/**
 * Signs purge receipts with an Ed25519 (EdDSA) or P-256 (ES256) private key, so an assessor can verify a
 * receipt offline with any JOSE tool and the public JWKS. Node's crypto signs (tens of microseconds per
 * receipt, so sweeps stay fast); the JWS is plain RFC 7515 compact serialization.
 */
export function createReceiptSigner(privateKeyPem: string, kid?: string): ReceiptSigner {
  const key: KeyObject = createPrivateKey(privateKeyPem);
  const type = key.asymmetricKeyType;
  const detail = key.asymmetricKeyDetails;
  let alg: 'EdDSA' | 'ES256';
  if (type === 'ed25519') alg = 'EdDSA';
  else if (type === 'ec' && detail?.namedCurve === 'prime256v1') alg = 'ES256';
  else throw new Error(`receipt signing key must be Ed25519 or P-256 (got ${type}${detail?.namedCurve ? ` ${detail.namedCurve}` : ''})`);
  const jwk = createPublicKey(key).export({ format: 'jwk' }) as Record<string, string>;
  const keyId = kid ?? thumbprint(jwk);
  const header = b64url(JSON.stringify({ alg, kid: keyId, typ: 'vsql-vault-purge-receipt+jwt' }));
  return {
    kid: keyId,
    alg,
    publicJwk: { ...jwk, kid: keyId, alg, use: 'sig' },
    sign(payload) {
      const signingInput = `${header}.${b64url(JSON.stringify(payload))}`;
      const signature =
        alg === 'EdDSA' ? sign(null, Buffer.from(signingInput), key) : sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
      return `${signingInput}.${b64url(signature)}`;
    },
  };
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key: a stable default key id. */
function thumbprint(jwk: Record<string, string>): string {
  const members = jwk.kty === 'OKP' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}
