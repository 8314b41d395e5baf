import type { StructureDefinition } from '@medplum/fhirtypes';

const REGEX_EXT = 'http://hl7.org/fhir/StructureDefinition/regex';

/** How one FHIR primitive type is checked; built once per type from its StructureDefinition. */
export interface PrimitiveRule {
  type: string;
  json: 'string' | 'number' | 'boolean';
  /**
   * Returns a problem description, or undefined when the value is valid. `written`: how a number was
   * written in the JSON text, when that is not how JavaScript writes its value (`1e400`, whose value is
   * Infinity; `12345678901234567890`); messages quote it, and a text `lexical` accepts is not refused
   * for the value it parses to.
   */
  check(value: unknown, written?: string): string | undefined;
  /**
   * A warning on a valid value (the HL7 validator's): a date, dateTime or instant outside the range of
   * reasonable years; a decimal outside the range of commonly supported ones (judged on `written` when
   * there is one). Undefined when there is nothing to say.
   */
  caution(value: unknown, written?: string): string | undefined;
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
  const caution = CAUTION[type];
  return {
    type,
    json,
    check(value, written) {
      if (!isJsonKind(value, json))
        return `Error parsing JSON: the primitive value must be a ${json} (found ${describe(value)})`;
      if (json === 'string') {
        const s = value as string;
        if (s.length === 0) return '@value cannot be empty';
        if (regex && !regex.test(s)) return `The value '${clip(s)}' is not a valid ${type}`;
      } else if (json === 'number' && !Number.isFinite(value as number)) {
        // `1e400` is a valid decimal as written (the caller judged the text with `lexical`); the
        // parsed value has nothing left to say. Without the text, the value is all there is.
        if (written === undefined || !regex?.test(written))
          return `The value '${clip(written ?? String(value))}' is not a valid ${type}`;
        return undefined;
      }
      return semantic ? semantic(value, written) : undefined;
    },
    caution(value, written) {
      return caution ? caution(value, written) : undefined;
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
  return (value: unknown, written?: string): string | undefined => {
    const n = value as number;
    const text = clip(written ?? String(n));
    if (!Number.isInteger(n)) return `The value '${text}' is not a valid ${type} (not a whole number)`;
    if (n < min || n > INT32_MAX)
      return `The value '${text}' is outside the range of ${type} (${min}..${INT32_MAX})`;
    return undefined;
  };
}

/**
 * A primitive holding nothing but white space, as Java's `StringUtils.isBlank` sees it (U+0020 and what
 * `Character.isWhitespace` calls white space; U+00A0 is not). The HL7 validator's checkPrimitive judges
 * no format for such a value: it warns "Primitive types should not only be whitespace" and stops.
 */
export function onlyWhitespace(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && !isJavaWhitespaceButSpace(c)) return false;
  }
  return true;
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

const SEMANTIC: Record<string, (value: unknown, written?: string) => string | undefined> = {
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

/**
 * The HL7 validator's reasonable years for date, dateTime and instant (InstanceValidator.yearIsValid):
 * 1800 to 80 years after the current one; outside them a warning, a likely data entry error.
 */
function reasonableYear(value: unknown): string | undefined {
  const s = value as string;
  const year = Number(s.slice(0, 4));
  if (year >= 1800 && year <= new Date().getUTCFullYear() + 80) return undefined;
  return `The value '${clip(s)}' is outside the range of reasonable years - check for data entry error`;
}

/**
 * The HL7 validator's decimal bounds (Utilities.checkDecimal, "arbitrary" there): at most 18 digits
 * before and after the point together, and an exponent of at most 4 digits. `text` is a valid decimal.
 */
function decimalInRange(text: string): boolean {
  const e = text.search(/[eE]/);
  const mantissa = e < 0 ? text : text.slice(0, e);
  const exponent = e < 0 ? '' : text.slice(e + 1).replace(/^[+-]/, '');
  return mantissa.replace(/[-+.]/g, '').length <= 18 && exponent.length <= 4;
}

function decimalRange(value: unknown, written?: string): string | undefined {
  const text = written ?? String(value);
  return decimalInRange(text)
    ? undefined
    : `The value '${clip(text)}' is outside the range of commonly/reasonably supported decimals`;
}

const CAUTION: Record<string, (value: unknown, written?: string) => string | undefined> = {
  date: reasonableYear,
  dateTime: reasonableYear,
  instant: reasonableYear,
  decimal: decimalRange,
};
