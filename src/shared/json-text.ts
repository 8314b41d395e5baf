/**
 * What `JSON.parse` does not keep of a JSON text, found in one linear pass over a text it has already
 * accepted (so the text is well formed):
 * - the first property name repeated in one object (FHIR JSON forbids that; `JSON.parse` silently keeps
 *   the last one);
 * - numbers written otherwise than JavaScript writes their value: `1.50` (a decimal's precision, which
 *   FHIR gives meaning to), `1.0` or `1e2` (valid for a decimal, not for an integer), `1e400` (a valid
 *   decimal, Infinity to JavaScript), a whole number of more than 15 digits (`12345678901234567890`,
 *   which a double cannot hold). `JSON.parse` turns `1.50` into `1.5` and `1.0` into `1`. Each is
 *   remembered against the parsed object or array holding it, so the validator judges the text as the
 *   HL7 validator does (`writtenNumber`) and the store and the answers write the number as it came
 *   (`stringifyAsWritten`).
 */

export interface JsonTextScan {
  /**
   * The first repeated name, its offset in the text, and the property names and array indexes from
   * the top-level value down to it, the name last (`['name', 0, 'family']`).
   */
  duplicate?: { name: string; offset: number; path: Array<string | number> };
}

/** Per parsed object or array: the property name or index of each number written otherwise. */
const WRITTEN = new WeakMap<object, Map<string | number, string>>();
/** Every object and array that holds such a number, directly or below. */
const ABOVE_WRITTEN = new WeakSet<object>();

/**
 * How the number at `holder[key]` was written in a text read by `scanJsonText`, when that is not how
 * JavaScript writes its value (`1.50`, `1.0`, `1e2`, `1e400`, `12345678901234567890`); undefined
 * otherwise.
 */
export function writtenNumber(holder: object, key: string | number): string | undefined {
  return WRITTEN.get(holder)?.get(key);
}

/** Carries what was remembered for `from` over to `to`, a copy of it with the same keys and values. */
export function keepWrittenNumbers(from: object, to: object): void {
  const keys = WRITTEN.get(from);
  if (keys) WRITTEN.set(to, keys);
  if (ABOVE_WRITTEN.has(from)) ABOVE_WRITTEN.add(to);
}

/** How many numbers `scanJsonText` has remembered in this process: none, and stringifying has nothing to look for. */
let remembered = 0;

/**
 * Whether `value` or something below it, down to `depth` levels, holds a number remembered by
 * `scanJsonText`. Copies made on the way (a resource with a new `meta`, a Bundle built around
 * resources) lose the mark at their top; the objects they share below keep it.
 */
function holdsWrittenNumbers(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (ABOVE_WRITTEN.has(value)) return true;
  if (depth === 0) return false;
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== null && typeof v === 'object' && holdsWrittenNumbers(v, depth - 1)) return true;
  }
  return false;
}

/**
 * Whether two equal values (deep-equal as JavaScript reads them) had their numbers written alike:
 * `{"value": 1.50}` and `{"value": 1.5}` are equal values written differently.
 */
export function numbersWrittenAlike(a: unknown, b: unknown): boolean {
  if (remembered === 0) return true;
  if (a === null || typeof a !== 'object' || b === null || typeof b !== 'object') return true;
  const marksA = WRITTEN.get(a);
  const marksB = WRITTEN.get(b);
  if ((marksA?.size ?? 0) !== (marksB?.size ?? 0)) return false;
  for (const [key, text] of marksA ?? []) if (marksB?.get(key) !== text) return false;
  for (const key in a)
    if (!numbersWrittenAlike((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
      return false;
  return true;
}

/** A number remembered as written, found below a value: the property names and array indexes down to it. */
export interface WrittenNumberAt {
  path: Array<string | number>;
  text: string;
}

/**
 * Every number below `value` (at any depth) remembered as written and still holding that value, with
 * where it is: what a change that copies or moves values (a JSON Patch) needs to carry it over to its
 * result with `rememberWrittenNumbers`.
 */
export function writtenNumbersIn(value: unknown): WrittenNumberAt[] {
  const found: WrittenNumberAt[] = [];
  if (remembered === 0) return found;
  const stack: Array<[object, Array<string | number>]> = [];
  if (value !== null && typeof value === 'object') stack.push([value, []]);
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [holder, path] = next;
    const values = holder as Record<string | number, unknown>;
    for (const [key, text] of WRITTEN.get(holder) ?? [])
      if (values[key] === Number(text)) found.push({ path: [...path, key], text });
    const keys = Array.isArray(holder) ? holder.keys() : Object.keys(holder);
    for (const key of keys) {
      const v = values[key];
      if (v !== null && typeof v === 'object') stack.push([v, [...path, key]]);
    }
  }
  return found;
}

/**
 * Remembers each number at its `path` below `root` as written `text` (`stringifyAsWritten` then
 * writes it so), where that place holds the number `text` writes; `root` and each container on the
 * way are marked as holding one. A step names an array element by its index, as a number or in digits.
 */
export function rememberWrittenNumbers(root: unknown, numbers: readonly WrittenNumberAt[]): void {
  for (const { path, text } of numbers) {
    const containers: object[] = [];
    let at: unknown = root;
    for (const step of path) {
      if (at === null || typeof at !== 'object') break;
      const key = Array.isArray(at) ? Number(step) : String(step);
      if (!Object.hasOwn(at, key)) break;
      containers.push(at);
      at = (at as Record<string | number, unknown>)[key];
    }
    const holder = containers[containers.length - 1];
    if (!holder || containers.length !== path.length || at !== Number(text)) continue;
    const last = path[path.length - 1] as string | number;
    const keys = WRITTEN.get(holder) ?? new Map<string | number, string>();
    WRITTEN.set(holder, keys);
    keys.set(Array.isArray(holder) ? Number(last) : String(last), text);
    remembered++;
    for (const container of containers) ABOVE_WRITTEN.add(container);
  }
}

/** A number's stand-in while stringifying: U+0000 cannot occur in text we store, so it cannot collide. */
const MARKED = /"\\u0000([-+.0-9eE]+)\\u0000"/g;

/**
 * `JSON.stringify(value, null, space)`, writing each number remembered by `scanJsonText` as it was
 * written (`1.50` stays `1.50`). A value holding none is stringified as usual, with no extra work.
 */
export function stringifyAsWritten(value: unknown, space?: number): string {
  // Four levels reach a Bundle's entries' resources' elements (Bundle.entry[i].resource.valueQuantity).
  if (remembered === 0 || !holdsWrittenNumbers(value, 4)) return JSON.stringify(value, null, space);
  const marked = JSON.stringify(
    value,
    function (this: unknown, key: string, v: unknown) {
      if (typeof v !== 'number' || this === null || typeof this !== 'object') return v;
      const text = WRITTEN.get(this)?.get(Array.isArray(this) ? Number(key) : key);
      return text === undefined ? v : `\u0000${text}\u0000`;
    },
    space,
  );
  return marked.replace(MARKED, '$1');
}

/**
 * A JSON number (after `:`, `,` or `[`) written with a trailing zero in its fraction (`1.50`, `2.0`),
 * with an exponent, or long (16 characters or more: more digits than a double may hold). Ids and
 * timestamps inside strings do not look like this; a string that does only costs a scan.
 */
const NOT_AS_JAVASCRIPT_WRITES = /[:,[]\s*-?(?:\d+(?:\.\d*0|(?:\.\d+)?[eE][+-]?\d+)|[\d.]{16,})\s*[,}\]]/;

/**
 * `JSON.parse` of a JSON text already known to be well formed (e.g. stored), remembering its numbers
 * as written (`stringifyAsWritten`); a text with none parses with no extra work.
 */
export function parseAsWritten(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (NOT_AS_JAVASCRIPT_WRITES.test(text)) scanJsonText(text, value);
  return value;
}

interface Frame {
  /** Names seen in this object; undefined for an array. */
  names?: Set<string>;
  /** The current property name (objects) or index (arrays). */
  at: string | number;
  /**
   * The parsed object or array this frame is, found when first needed (`holderOf`); undefined where
   * the value does not follow the text.
   */
  holder?: Record<string | number, unknown>;
  resolved: boolean;
  /** Whether `holder` and the frames below it are already marked as holding a remembered number. */
  marked: boolean;
}

/**
 * The parsed container of frame `k`: from the nearest frame above it already found, down. Each frame
 * is looked up once, so the scan stays linear whatever the nesting.
 */
function holderOf(frames: Frame[], k: number): Frame['holder'] {
  let j = k;
  while (j > 0 && !(frames[j] as Frame).resolved) j--;
  for (let m = j + 1; m <= k; m++) {
    const parent = frames[m - 1] as Frame;
    const v = parent.holder?.[parent.at];
    const frame = frames[m] as Frame;
    frame.holder = v !== null && typeof v === 'object' ? (v as Frame['holder']) : undefined;
    frame.resolved = true;
  }
  return (frames[k] as Frame).holder;
}

/**
 * Scans `text`, which `JSON.parse` turned into `value`; see the module comment. Linear in the text:
 * a number is remembered against its parsed holder, found by following the containers the text has
 * open (no path is kept per number, whatever the nesting).
 */
export function scanJsonText(text: string, value: unknown): JsonTextScan {
  const frames: Frame[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const frame: Frame =
        c === 0x7b
          ? { names: new Set(), at: '', resolved: false, marked: false }
          : { at: 0, resolved: false, marked: false };
      if (frames.length === 0) {
        frame.holder = value !== null && typeof value === 'object' ? (value as Frame['holder']) : undefined;
        frame.resolved = true;
      }
      frames.push(frame);
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
        if (top.names.has(decoded)) {
          const path = frames.slice(0, -1).map((f) => f.at);
          return { duplicate: { name: decoded, offset: i, path: [...path, decoded] } };
        }
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
      // Up to 15 digits without a fraction or exponent JavaScript writes back as they came.
      if ((fraction || end - i > 15) && String(Number(written)) !== written) remember(frames, written);
      i = end;
    } else {
      i++;
    }
  }
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

/** Remembers the number `text` just read at the top frame's place, and marks the holders above it. */
function remember(frames: Frame[], text: string): void {
  const top = frames[frames.length - 1];
  if (!top) return;
  const holder = holderOf(frames, frames.length - 1);
  if (!holder || holder[top.at] !== Number(text)) return;
  const keys = WRITTEN.get(holder) ?? new Map<string | number, string>();
  WRITTEN.set(holder, keys);
  keys.set(top.at, text);
  remembered++;
  // Each frame is marked once: the walk stops at the first one a number below it marked already.
  for (let k = frames.length - 1; k >= 0 && !(frames[k] as Frame).marked; k--) {
    const frame = frames[k] as Frame;
    frame.marked = true;
    if (frame.holder) ABOVE_WRITTEN.add(frame.holder);
  }
}
