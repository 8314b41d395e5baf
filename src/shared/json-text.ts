/**
 * What `JSON.parse` does not keep of a JSON text, found in one linear pass over a text it has already
 * accepted (so the text is well formed):
 * - the first property name repeated in one object (FHIR JSON forbids that; `JSON.parse` silently keeps
 *   the last one);
 * - numbers written with a fraction or exponent although their value is whole (`1.0`, `1e2`): valid
 *   for a `decimal`, not for an `integer`, and `JSON.parse` turns both into `1`. They are remembered
 *   against the parsed object or array that holds them, so the validator can judge the text as the HL7
 *   validator does (`writtenNumber`).
 */

export interface JsonTextScan {
  duplicate?: { name: string; offset: number };
}

/** Where a number sits (keys and indexes from the root) and how it was written. */
interface WrittenNumber {
  path: Array<string | number>;
  text: string;
}

/** Per parsed object or array: the property name or index of each whole number written as a fraction. */
const WRITTEN = new WeakMap<object, Map<string | number, string>>();

/**
 * How the number at `holder[key]` was written, when it is whole but was written with a fraction or an
 * exponent in a text read by `scanJsonText`; undefined otherwise.
 */
export function writtenNumber(holder: object, key: string | number): string | undefined {
  return WRITTEN.get(holder)?.get(key);
}

/** Carries what was remembered for `from` over to `to`, a copy of it with the same keys and values. */
export function keepWrittenNumbers(from: object, to: object): void {
  const keys = WRITTEN.get(from);
  if (keys) WRITTEN.set(to, keys);
}

interface Frame {
  /** Names seen in this object; undefined for an array. */
  names?: Set<string>;
  /** The current property name (objects) or index (arrays). */
  at: string | number;
}

/** Scans `text`, which `JSON.parse` turned into `value`; see the module comment. */
export function scanJsonText(text: string, value: unknown): JsonTextScan {
  const frames: Frame[] = [];
  const numbers: WrittenNumber[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      frames.push(c === 0x7b ? { names: new Set(), at: '' } : { at: 0 });
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      frames.pop();
      i++;
    } else if (c === 0x2c /* , */) {
      const top = frames[frames.length - 1];
      if (top && !top.names) top.at = (top.at as number) + 1;
      i++;
    } else if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      const top = frames[frames.length - 1];
      const name = top?.names && isPropertyName(text, end) ? text.slice(i, end) : undefined;
      if (name !== undefined && top?.names) {
        const decoded = name.includes('\\') ? (JSON.parse(name) as string) : name.slice(1, -1);
        if (top.names.has(decoded)) return { duplicate: { name: decoded, offset: i } };
        top.names.add(decoded);
        top.at = decoded;
      }
      i = end;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      let fraction = false;
      for (let d = text.charCodeAt(end); end < n; d = text.charCodeAt(++end)) {
        if (d === 0x2e /* . */ || d === 0x65 /* e */ || d === 0x45 /* E */) fraction = true;
        else if (!((d >= 0x30 && d <= 0x39) || d === 0x2b /* + */ || d === 0x2d)) break;
      }
      const written = text.slice(i, end);
      if (fraction && Number.isInteger(Number(written)))
        numbers.push({ path: frames.map((f) => f.at), text: written });
      i = end;
    } else {
      i++;
    }
  }
  for (const number of numbers) remember(value, number);
  return {};
}

/** The index just past the string literal starting at `start`. */
function stringEnd(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return text.length;
    // Escaped when an odd number of backslashes precede it.
    let b = quote - 1;
    while (b > start && text.charCodeAt(b) === 0x5c /* \ */) b--;
    if ((quote - 1 - b) % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** Whether the string literal ending at `end` is followed by a colon (a property name). */
function isPropertyName(text: string, end: number): boolean {
  let j = end;
  while (j < text.length && (text[j] === ' ' || text[j] === '\n' || text[j] === '\r' || text[j] === '\t'))
    j++;
  return text[j] === ':';
}

function remember(root: unknown, { path, text }: WrittenNumber): void {
  let holder: unknown = root;
  for (const step of path.slice(0, -1)) holder = (holder as Record<string | number, unknown> | null)?.[step];
  const key = path[path.length - 1];
  if (key === undefined || !holder || typeof holder !== 'object') return;
  if ((holder as Record<string | number, unknown>)[key] !== Number(text)) return;
  const keys = WRITTEN.get(holder) ?? new Map<string | number, string>();
  WRITTEN.set(holder, keys);
  keys.set(key, text);
}
