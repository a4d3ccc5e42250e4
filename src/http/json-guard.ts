/**
 * Checks a JSON text before it is parsed for the shapes a parser accepts but a vault must not, because
 * they would be stored as something other than what was sent, or not stored at all:
 * - a key repeated in one object (JSON.parse keeps the last silently, so a proxy and the vault could
 *   disagree on, say, `access_policy`);
 * - a key named `__proto__` (it would be dropped, or change an object's prototype, on the way in);
 * - a NUL character (`\u0000`: PostgreSQL text cannot hold it) or a lone UTF-16 surrogate escape
 *   (`\ud800` alone: it would be stored as U+FFFD) anywhere in a string or key;
 * - nesting deeper than `maxDepth` (recursive validation would exhaust the stack).
 * Iterative, one pass, no allocation per value. Returns a problem or undefined; syntax errors are left to
 * JSON.parse. The text must come from a strict UTF-8 decoding (validate.ts), so a raw surrogate cannot occur.
 */
export function jsonShapeProblem(text: string, maxDepth: number): string | undefined {
  const stack: (Set<string> | null)[] = []; // a Set per open object, null per open array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      let j = i + 1;
      let raw = false;
      let highPending = false;
      for (; j < text.length; j++) {
        let unit = text.charCodeAt(j);
        if (unit === 0x22) break;
        if (unit === 0x5c /* \ */) {
          raw = true;
          if (text.charCodeAt(j + 1) === 0x75 /* u */) {
            unit = Number.parseInt(text.slice(j + 2, j + 6), 16);
            j += 5;
          } else {
            unit = -1; // a one-character escape: never NUL, never a surrogate
            j++;
          }
        }
        if (unit === 0) return 'a string contains a NUL character';
        const low = unit >= 0xdc00 && unit <= 0xdfff;
        if (highPending !== low) return 'a string contains a lone UTF-16 surrogate';
        highPending = unit >= 0xd800 && unit <= 0xdbff;
      }
      if (highPending) return 'a string contains a lone UTF-16 surrogate';
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        let key = text.slice(i + 1, j);
        if (raw) {
          try {
            key = JSON.parse(text.slice(i, j + 1)) as string;
          } catch {
            return undefined;
          }
        }
        if (key === '__proto__') return 'a key named __proto__ is not accepted';
        if (top.has(key)) return 'a key is repeated in one object';
        top.add(key);
        expectKey = false;
      }
      i = j;
    } else if (ch === 0x7b /* { */ || ch === 0x5b /* [ */) {
      stack.push(ch === 0x7b ? new Set() : null);
      if (stack.length > maxDepth) return `nested deeper than ${maxDepth} levels`;
      expectKey = ch === 0x7b;
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (ch === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return undefined;
}
