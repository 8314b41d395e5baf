/**
 * The first property name that occurs twice in one object of a JSON text, or undefined. FHIR JSON
 * forbids duplicates, and `JSON.parse` silently keeps the last one, so the text itself is scanned:
 * one linear pass over a text `JSON.parse` has already accepted (so it is well formed).
 */
export function findDuplicateKey(text: string): { name: string; offset: number } | undefined {
  const stack: Array<Set<string> | undefined> = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      stack.push(new Set());
      i++;
    } else if (c === 0x5b /* [ */) {
      stack.push(undefined);
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      i++;
    } else if (c === 0x22 /* " */) {
      const start = i;
      i++;
      let escaped = false;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          escaped = true;
          i += 2;
          continue;
        }
        if (d === 0x22) break;
        i++;
      }
      const end = i + 1;
      i = end;
      const keys = stack[stack.length - 1];
      if (!keys) continue;
      let j = i;
      while (j < n && (text[j] === ' ' || text[j] === '\n' || text[j] === '\r' || text[j] === '\t')) j++;
      if (text[j] !== ':') continue;
      const raw = text.slice(start, end);
      const name = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      if (keys.has(name)) return { name, offset: start };
      keys.add(name);
    } else {
      i++;
    }
  }
  return undefined;
}
