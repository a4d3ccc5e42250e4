/**
 * Checks a JSON text before it is parsed for the two shapes a parser accepts but a vault must not:
 * a key repeated in one object (JSON.parse keeps the last silently, so a proxy and the vault could
 * disagree on, say, `access_policy`) and nesting deeper than `maxDepth` (recursive validation would
 * exhaust the stack). Iterative, one pass, no allocation per value. Returns a problem or undefined;
 * syntax errors are left to JSON.parse.
 */
export function jsonShapeProblem(text: string, maxDepth: number): string | undefined {
  const stack: (Set<string> | null)[] = []; // a Set per open object, null per open array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      let j = i + 1;
      let raw = false;
      for (; j < text.length; j++) {
        const c = text.charCodeAt(j);
        if (c === 0x5c /* \ */) {
          raw = true;
          j++;
        } else if (c === 0x22) break;
      }
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
