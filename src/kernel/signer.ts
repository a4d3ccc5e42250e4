/**
 * A key that signs evidence (purge receipts today) as compact JWS, whose public half is served at
 * /.well-known/jwks.json so an assessor can verify offline. The private key never leaves the process.
 */
export interface Signer {
  kid: string;
  alg: 'EdDSA' | 'ES256';
  /** A compact JWS (RFC 7515) over the payload's JSON. */
  sign(payload: object): string;
  /** The public half, as a JWK. */
  publicJwk: Record<string, string>;
}
