import { createHash, createPrivateKey, createPublicKey, sign, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

/**
 * A key that signs evidence — purge receipts, audit checkpoints, verification records — as compact JWS
 * (RFC 7515), whose public half is served at /.well-known/jwks.json so an assessor can verify offline
 * with any JOSE tool. The private key lives in a file outside the database: a database superuser can
 * rewrite rows, but cannot sign what the vault signs.
 */
export interface Signer {
  kid: string;
  alg: 'EdDSA' | 'ES256';
  /** A compact JWS over the payload's JSON; `typ` names what it is (default: a purge receipt). */
  sign(payload: object, typ?: string): string;
  /** The payload of a JWS this key signed with that `typ`, or undefined when the signature does not check. */
  verify(jws: string, typ: string): Record<string, unknown> | undefined;
  /** The public half, as a JWK. */
  publicJwk: Record<string, string>;
}

export const RECEIPT_TYP = 'vsql-vault-purge-receipt+jwt';
const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/**
 * An Ed25519 (EdDSA) or P-256 (ES256) signer from a PKCS#8 PEM private key. Node's crypto signs and
 * verifies (tens of microseconds each), so sweeps and reports stay fast.
 */
export function createSigner(privateKeyPem: string, kid?: string): Signer {
  const key: KeyObject = createPrivateKey(privateKeyPem);
  const type = key.asymmetricKeyType;
  const detail = key.asymmetricKeyDetails;
  let alg: 'EdDSA' | 'ES256';
  if (type === 'ed25519') alg = 'EdDSA';
  else if (type === 'ec' && detail?.namedCurve === 'prime256v1') alg = 'ES256';
  else throw new Error(`signing key must be Ed25519 or P-256 (got ${type}${detail?.namedCurve ? ` ${detail.namedCurve}` : ''})`);
  const publicKey = createPublicKey(key);
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, string>;
  const keyId = kid ?? thumbprint(jwk);
  const headerFor = (typ: string) => b64url(JSON.stringify({ alg, kid: keyId, typ }));
  const headers = new Map<string, string>();
  return {
    kid: keyId,
    alg,
    publicJwk: { ...jwk, kid: keyId, alg, use: 'sig' },
    sign(payload, typ = RECEIPT_TYP) {
      let header = headers.get(typ);
      if (header === undefined) {
        header = headerFor(typ);
        headers.set(typ, header);
      }
      const signingInput = `${header}.${b64url(JSON.stringify(payload))}`;
      const signature =
        alg === 'EdDSA' ? sign(null, Buffer.from(signingInput), key) : sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
      return `${signingInput}.${b64url(signature)}`;
    },
    verify: (jws, typ) => verifyCompact(jws, typ, { alg, kid: keyId, publicKey }),
  };
}

/** Checks JWS signatures of one public key (a JWK as /.well-known/jwks.json serves it): what an offline verifier has. */
export interface Verifier {
  kid: string;
  verify(jws: string, typ: string): Record<string, unknown> | undefined;
}

/** A verifier from a public JWK (Ed25519 "OKP" or P-256 "EC"). */
export function createVerifier(jwk: Record<string, unknown>): Verifier {
  const publicKey = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  const alg = jwk.kty === 'OKP' ? 'EdDSA' : jwk.kty === 'EC' && jwk.crv === 'P-256' ? 'ES256' : undefined;
  if (!alg) throw new Error(`key must be Ed25519 or P-256 (got kty ${String(jwk.kty)})`);
  const kid = typeof jwk.kid === 'string' ? jwk.kid : thumbprint(jwk as Record<string, string>);
  return { kid, verify: (jws, typ) => verifyCompact(jws, typ, { alg, kid, publicKey }) };
}

function verifyCompact(jws: string, typ: string, key: { alg: 'EdDSA' | 'ES256'; kid: string; publicKey: KeyObject }): Record<string, unknown> | undefined {
  const parts = jws.split('.');
  if (parts.length !== 3) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  try {
    const h = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: string; kid?: string; typ?: string };
    if (h.alg !== key.alg || h.kid !== key.kid || h.typ !== typ) return undefined;
    const input = Buffer.from(`${header}.${payload}`);
    const sig = Buffer.from(signature, 'base64url');
    const ok = key.alg === 'EdDSA' ? verify(null, input, key.publicKey, sig) : verify('sha256', input, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, sig);
    if (!ok) return undefined;
    const body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key: a stable default key id. */
function thumbprint(jwk: Record<string, string>): string {
  const members = jwk.kty === 'OKP' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}
