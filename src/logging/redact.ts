const SECRET_KEYS = /^(authorization|x-vault-key|api[-_]?key|key|token|password|secret|encrypted_value|encryptedvalue|cookie|set-cookie)$/i;

/** Field names repeat on every line: each is judged once (bounded, so odd names cannot grow it). */
const judged = new Map<string, boolean>();
function isSecret(key: string): boolean {
  let secret = judged.get(key);
  if (secret === undefined) {
    secret = SECRET_KEYS.test(key);
    if (judged.size < 1024) judged.set(key, secret);
  }
  return secret;
}

/**
 * Whether redact's copy would serialise as the object itself: a plain object (no prototype's toJSON or
 * fields to drop) whose fields are its own, none secret-named and none a nested object (those are
 * copied, keeping only their own fields). The request line, on every request, is one.
 */
function unchanged(fields: Record<string, unknown>): boolean {
  const prototype = Object.getPrototypeOf(fields);
  if (prototype !== Object.prototype && prototype !== null) return false;
  for (const key in fields) {
    if (!Object.hasOwn(fields, key) || isSecret(key)) return false;
    const value = fields[key];
    if (value && typeof value === 'object' && !Array.isArray(value)) return false;
  }
  return true;
}

/**
 * Replaces the value of any field whose name marks it as a secret, at any depth, in a copy; fields with
 * nothing to replace or drop come back as they are (the logger only serialises them), without the copy.
 */
export function redact(fields: Record<string, unknown>, depth = 0): Record<string, unknown> {
  if (unchanged(fields)) return fields;
  const out: Record<string, unknown> = {};
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue;
    const value = fields[key];
    if (isSecret(key)) out[key] = '[redacted]';
    else if (value && typeof value === 'object' && !Array.isArray(value) && depth < 4) out[key] = redact(value as Record<string, unknown>, depth + 1);
    else out[key] = value;
  }
  return out;
}
