import { createSigner, type Signer } from '../../kernel/signer';

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

/**
 * Signs purge receipts with an Ed25519 (EdDSA) or P-256 (ES256) private key, so an assessor can verify a
 * receipt offline with any JOSE tool and the public JWKS (header typ `vsql-vault-purge-receipt+jwt`).
 */
export const createReceiptSigner = createSigner;
