import type { StructureDefinition } from '@medplum/fhirtypes';

const REGEX_EXT = 'http://hl7.org/fhir/StructureDefinition/regex';

/** How one FHIR primitive type is checked; built once per type from its StructureDefinition. */
export interface PrimitiveRule {
  type: string;
  json: 'string' | 'number' | 'boolean';
  /** Returns a problem description, or undefined when the value is valid. */
  check(value: unknown): string | undefined;
  /**
   * A number's or boolean's text as written (an XML `value` attribute; JSON.parse keeps no text):
   * the type's regex, which `check` cannot apply to a parsed value (`1.0`, `01`, `1e2`, `1.5` as an
   * integer; `yes` as a boolean).
   * The problem quotes the text only when asked (the XML findings never quote the document).
   */
  lexical(text: string, quoted?: boolean): string | undefined;
}

const NUMBER_TYPES = new Set(['integer', 'decimal', 'positiveInt', 'unsignedInt', 'integer64']);
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

export function isPrimitiveCode(code: string): boolean {
  return code.length > 0 && code.charCodeAt(0) >= 97 && code.charCodeAt(0) <= 122; // FHIR primitives start lower-case
}

/** Builds the rule from the `<type>.value` element's regex extension plus the semantic checks regexes cannot express. */
export function compilePrimitive(sd: StructureDefinition): PrimitiveRule {
  const type = sd.type ?? sd.id ?? '';
  const valueEl = sd.snapshot?.element.find((e) => e.path === `${type}.value`);
  const source = valueEl?.type?.[0]?.extension?.find((x) => x.url === REGEX_EXT)?.valueString;
  // base64Binary's published regex backtracks badly on long invalid input; checked by hand below.
  const regex = source && type !== 'base64Binary' ? new RegExp(`^(?:${javaClasses(source)})$`) : undefined;
  const json: PrimitiveRule['json'] =
    type === 'boolean' ? 'boolean' : NUMBER_TYPES.has(type) ? 'number' : 'string';
  const semantic = SEMANTIC[type];
  return {
    type,
    json,
    check(value) {
      if (!isJsonKind(value, json))
        return `Error parsing JSON: the primitive value must be a ${json} (found ${describe(value)})`;
      if (json === 'string') {
        const s = value as string;
        if (s.length === 0) return '@value cannot be empty';
        if (regex && !regex.test(s)) return `The value '${clip(s)}' is not a valid ${type}`;
      } else if (json === 'number' && !Number.isFinite(value as number)) {
        return `The value '${value}' is not a valid ${type}`;
      }
      return semantic ? semantic(value) : undefined;
    },
    lexical(text, quoted = false) {
      if (json === 'string' || !regex || regex.test(text)) return undefined;
      return quoted
        ? `The value '${clip(text)}' is not a valid ${type}`
        : `The value as written is not a valid ${type}`;
    },
  };
}

/**
 * The published regexes are Java regexes: `\\s` there is ASCII whitespace only, so `[ \\r\\n\\t\\S]+` (string)
 * accepts U+00A0 and other Unicode spaces. JavaScript's `\\s`/`\\S` are Unicode-aware; spell the Java classes out.
 */
function javaClasses(source: string): string {
  const space = '\\x09-\\x0D\\x20';
  const nonSpace = '\\x00-\\x08\\x0E-\\x1F\\x21-\\uFFFF';
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === '\\' && i + 1 < source.length) {
      const next = source[i + 1];
      i++;
      if (next === 's' || next === 'S') {
        const range = next === 's' ? space : nonSpace;
        out += inClass ? range : `[${range}]`;
      } else out += ch + next;
      continue;
    }
    if (ch === '[' && !inClass) inClass = true;
    else if (ch === ']' && inClass) inClass = false;
    out += ch;
  }
  return out;
}

export function isJsonKind(v: unknown, kind: PrimitiveRule['json']): boolean {
  return kind === 'string'
    ? typeof v === 'string'
    : kind === 'number'
      ? typeof v === 'number'
      : typeof v === 'boolean';
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

export function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Real calendar validity for the date part of date, dateTime and instant (the regexes allow 02-31). */
function checkCalendar(value: unknown): string | undefined {
  const s = value as string;
  if (s.length < 10) return undefined;
  const year = Number(s.slice(0, 4));
  const month = Number(s.slice(5, 7));
  const day = Number(s.slice(8, 10));
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const max = month === 2 ? (leap ? 29 : 28) : DAYS[month - 1];
  if (day > max) return `The value '${s}' is not a valid date (that month has ${max} days)`;
  return undefined;
}

function checkInteger(min: number, type: string) {
  return (value: unknown): string | undefined => {
    const n = value as number;
    if (!Number.isInteger(n)) return `The value '${n}' is not a valid ${type} (not a whole number)`;
    if (n < min || n > INT32_MAX)
      return `The value '${n}' is outside the range of ${type} (${min}..${INT32_MAX})`;
    return undefined;
  };
}

const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;
const WHITESPACE = /\s+/g;
/** White space to Java's Character.isWhitespace, but U+0020 (no-break spaces are not white space there). */
function isJavaWhitespaceButSpace(c: number): boolean {
  return (
    (c >= 0x09 && c <= 0x0d) ||
    (c >= 0x1c && c <= 0x1f) ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a && c !== 0x2007) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x205f ||
    c === 0x3000
  );
}

/**
 * The HL7 validator's rule for a code: no white space at the ends (as Java's trim() sees it: anything
 * up to U+0020), and inside only single spaces (U+0020) between other characters.
 */
function checkCode(value: unknown): string | undefined {
  const s = value as string;
  let ok = s.charCodeAt(0) > 0x20 && s.charCodeAt(s.length - 1) > 0x20;
  for (let i = 1; ok && i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    ok = c === 0x20 ? s.charCodeAt(i + 1) !== 0x20 : !isJavaWhitespaceButSpace(c);
  }
  return ok
    ? undefined
    : `The value '${clip(s)}' is not a valid code (white space other than single spaces between characters)`;
}

const SEMANTIC: Record<string, (value: unknown) => string | undefined> = {
  date: checkCalendar,
  dateTime: checkCalendar,
  instant: checkCalendar,
  integer: checkInteger(INT32_MIN, 'integer'),
  unsignedInt: checkInteger(0, 'unsignedInt'),
  positiveInt: checkInteger(1, 'positiveInt'),
  code: checkCode,
  // The R4 regex allows a fraction of a second; the HL7 validator's time rule does not.
  time: (value) =>
    (value as string).includes('.')
      ? `The value '${value as string}' is not a valid time (no fractional seconds)`
      : undefined,
  base64Binary(value) {
    // The reference validator accepts whitespace (line breaks) inside base64 content, with a warning
    // (checks/element-values.ts).
    const s = (value as string).replace(WHITESPACE, '');
    if (s.length % 4 !== 0 || !BASE64_CHARS.test(s))
      return `The value '${clip(value as string)}' is not a valid base64Binary`;
    return undefined;
  },
};
