const SECRET_KEYS = /^(authorization|x-vault-key|api[-_]?key|key|token|password|secret|encrypted_value|encryptedvalue|cookie|set-cookie)$/i;

/** Replaces the value of any field whose name marks it as a secret, at any depth. */
export function redact(fields: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (SECRET_KEYS.test(key)) out[key] = '[redacted]';
    else if (value && typeof value === 'object' && !Array.isArray(value) && depth < 4) out[key] = redact(value as Record<string, unknown>, depth + 1);
    else out[key] = value;
  }
  return out;
}
