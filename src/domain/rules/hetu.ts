/**
 * *Henkilötunnus* (HETU): `DDMMYYCZZZQ`. The profile invariant `tyk-hetu-1` enforces the same format
 * and check character; tests/domain/hetu-invariant.test.ts proves both agree on tests/fixtures/hetu-cases.json.
 */
import { LOWER_CASE_UUID } from '../../shared/references.ts';
import { finnishDay } from './calendar.ts';

/** The identifier system of the HETU (the OID of the Finnish personal identity code); `tyk-hetu-1` applies to it. */
export const HETU_SYSTEM = 'urn:oid:1.2.246.21';

/** The 31 check characters, indexed by `DDMMYYZZZ mod 31`. */
export const CHECK_CHARS = '0123456789ABCDEFHJKLMNPRSTUVWXY';
const CENTURY: Record<string, number> = {
  '+': 1800,
  '-': 1900,
  Y: 1900,
  X: 1900,
  W: 1900,
  V: 1900,
  U: 1900,
  A: 2000,
  B: 2000,
  C: 2000,
  D: 2000,
  E: 2000,
  F: 2000,
};
/** Century signs and the first year of the century each stands for. */
export const CENTURY_SIGNS: Readonly<Record<string, number>> = CENTURY;
/** A HETU's shape up to its check character: day, month, year, century sign, individual number. */
const BEFORE_CHECK = String.raw`(\d{2})(\d{2})(\d{2})([-+A-FU-Y])(\d{3})`;
/**
 * A HETU's shape: day, month, year, century sign, individual number, check character. The one home
 * of the shape: the domain schema's `Client.hetu` pattern is `^${HETU_SHAPE_SOURCE}$`.
 */
export const HETU_SHAPE_SOURCE = `${BEFORE_CHECK}([0-9A-Y])`;
/** The shape in words, for a value that does not have it (never quoting the value). */
export const HETU_SHAPE_TEXT =
  'a HETU: six digits of birth date, a century sign (+, -, A–F or U–Y), three digits and a check character (0–9 or an upper-case letter)';
const SHAPE = new RegExp(`^${HETU_SHAPE_SOURCE}$`);

/**
 * Anything of a HETU's shape inside a text (valid or not: a mistyped one is still a person's), its
 * century sign and check character in either case (`010105a900b` is no valid value, but names the
 * same person), also glued to letters before it (`name010181-900C`, a parameter's name, an id's
 * prefix) but not to more digits, nor to a letter or digit after its check character: glued on there
 * it is a run of hex or code (`4E010181A900CABC1234`), rarely a HETU. A UUID (either case) is matched
 * whole first and kept: its hex can hold a HETU's shape (`4e010181-9001-…`, `00010181-900c-…`).
 */
const HETU_IN_TEXT = new RegExp(
  `(${LOWER_CASE_UUID.replaceAll('0-9a-f', '0-9A-Fa-f')})|(?<![0-9])${BEFORE_CHECK.replace('A-FU-Y', 'A-FU-Ya-fu-y')}[0-9A-Ya-y](?![0-9A-Za-z])`,
  'g',
);
/** `HETU_IN_TEXT`'s replacement: a UUID as it was, a HETU masked. */
const maskMatch = (match: string, uuid: string | undefined) => (uuid ? match : '[HETU]');

/** A run of percent-escapes (`%2D`, `%C3%A4`): decoded together, as UTF-8. */
const ESCAPES = /(?:%[0-9A-Fa-f]{2})+/g;
/**
 * How many times a text is percent-decoded at most: a double-encoded `%252D` is a `-` to a reader
 * too; a text still encoded after that is withheld (each round is a pass over it).
 */
const DECODE_ROUNDS = 4;
const ENCODED_TOO_DEEP = `[text percent-encoded more than ${DECODE_ROUNDS} times, withheld]`;
const utf8 = new TextDecoder();

/** A run of escapes as the text it encodes; bytes that are no UTF-8 become U+FFFD. */
function decodeRun(run: string): string {
  const bytes = new Uint8Array(run.length / 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
  return utf8.decode(bytes);
}

/**
 * `text` with every HETU-shaped part replaced by `[HETU]`: for texts that leave the process (error
 * messages, the request log's path) and may quote what a caller sent. A HETU written with
 * percent-escapes (a URL path: `010181%2D900C`, or encoded again) is found too: the text is decoded
 * (repeatedly; a malformed escape stays as it is) and, when that shows a HETU, the decoded text is
 * returned masked; otherwise the text as it was (masked). A text still encoded after four rounds is
 * withheld whole.
 */
export function maskHetus(text: string): string {
  const masked = text.replace(HETU_IN_TEXT, maskMatch);
  if (!text.includes('%')) return masked;
  let decoded = text;
  for (let round = 0; ; round++) {
    const next = decoded.replace(ESCAPES, decodeRun);
    if (next === decoded) break;
    if (round === DECODE_ROUNDS) return ENCODED_TOO_DEEP;
    decoded = next;
  }
  const maskedDecoded = decoded.replace(HETU_IN_TEXT, maskMatch);
  return maskedDecoded === decoded ? masked : maskedDecoded;
}
/** From 2027 new HETUs no longer carry sex in the individual number (the HETU reform). */
export const SEX_NEUTRAL_FROM = '2027-01-01';

export type HetuFailure =
  | 'format'
  | 'century-sign'
  | 'date'
  | 'future-date'
  | 'individual-number'
  | 'check-character';

export interface ParsedHetu {
  hetu: string;
  birthDate: string;
  centurySign: string;
  individualNumber: number;
  checkCharacter: string;
  /** 900–999: a temporary or test code (Kanta test codes use these). */
  temporary: boolean;
  /** Sex from the parity of the individual number, or `undefined` when the code does not carry it. */
  sex: 'male' | 'female' | undefined;
  sexReason: string;
}

export type HetuResult =
  | { valid: true; reason: string; value: ParsedHetu }
  | { valid: false; reason: string; failure: HetuFailure };

/** The check character the first nine digits call for. */
export function hetuCheckCharacter(dateDigits: string, individualNumber: string): string {
  return CHECK_CHARS[Number(dateDigits + individualNumber) % 31]!;
}

/**
 * Which part of a HETU that does not have the shape breaks it. The reason names the part and, for a
 * one-character part, that character; never the code itself (reasons reach error messages).
 */
function shapeFailure(hetu: string): { valid: false; reason: string; failure: HetuFailure } {
  if (!/^\d{6}.\d{3}.$/.test(hetu))
    return { valid: false, failure: 'format', reason: 'not of the form DDMMYYCZZZQ (11 characters)' };
  const sign = hetu[6] as string;
  if (!(sign in CENTURY))
    return {
      valid: false,
      failure: 'century-sign',
      reason: `century sign '${sign}' is not one of + - Y X W V U A B C D E F`,
    };
  return {
    valid: false,
    failure: 'check-character',
    reason: `check character '${hetu[10]}' is not one of 0–9 and A–Y without G, I, O, Q and Z`,
  };
}

function isRealDate(year: number, month: number, day: number): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/**
 * Whether a birth date (`YYYY-MM-DD`) is after today in Finland: nobody is born on a day still to
 * come, so neither a HETU carrying it (`tyk-hetu-1`, failure `future-date`; a code of someone not yet
 * born was never issued) nor a client's `birthDate` (rule `future-date`) may. The one home of the rule.
 * The Finnish day is worked out only for a birth in this year or later.
 */
export function isFutureBirthDate(birthDate: string): boolean {
  if (Number(birthDate.slice(0, 4)) < new Date().getUTCFullYear()) return false;
  return birthDate > finnishDay();
}

/**
 * The rule the profile invariant `tyk-hetu-1` also states: shape, century sign, a real calendar
 * date that is not in the future, individual number 002–999 and the check character.
 */
export function checkHetuFormat(hetu: string): { valid: boolean; reason: string; failure?: HetuFailure } {
  const m = SHAPE.exec(hetu);
  if (!m) return shapeFailure(hetu);
  const year = CENTURY[m[4]!]! + Number(m[3]);
  if (!isRealDate(year, Number(m[2]), Number(m[1]))) {
    return { valid: false, failure: 'date', reason: 'the date it carries is not a calendar date' };
  }
  if (isFutureBirthDate(`${year}-${m[2]}-${m[1]}`)) {
    return { valid: false, failure: 'future-date', reason: 'the birth date it carries is in the future' };
  }
  if (Number(m[5]) < 2) {
    return {
      valid: false,
      failure: 'individual-number',
      reason: 'the individual number is not issued (002–999)',
    };
  }
  if (!CHECK_CHARS.includes(m[6]!)) return shapeFailure(hetu); // G, I, O, Q: never a check character
  const expected = hetuCheckCharacter(m[1]! + m[2]! + m[3]!, m[5]!);
  if (expected !== m[6]) {
    return {
      valid: false,
      failure: 'check-character',
      reason: `check character '${m[6]}' does not match the rest of the code`,
    };
  }
  return { valid: true, reason: 'format, date, individual number and check character are valid' };
}

/**
 * Parses and validates a HETU. `issuedOn` (when known) tells whether the code was issued after the
 * 2027 reform, when sex stopped being carried; otherwise codes of people born from 2027 are sex-neutral.
 */
export function parseHetu(hetu: string, opts: { issuedOn?: string } = {}): HetuResult {
  const format = checkHetuFormat(hetu);
  if (!format.valid) return { valid: false, reason: format.reason, failure: format.failure! };
  const [, dd, mm, yy, sign, zzz, check] = SHAPE.exec(hetu)!;
  const year = CENTURY[sign!]! + Number(yy);
  const individualNumber = Number(zzz);
  const birthDate = `${year}-${mm}-${dd}`;
  const temporary = individualNumber >= 900;
  const neutral = (opts.issuedOn ?? birthDate) >= SEX_NEUTRAL_FROM;
  const sex = neutral ? undefined : individualNumber % 2 === 1 ? 'male' : 'female';
  const sexReason = neutral
    ? `not carried: codes issued from ${SEX_NEUTRAL_FROM} are sex-neutral`
    : `individual number ${zzz} is ${individualNumber % 2 === 1 ? 'odd (male)' : 'even (female)'}`;
  return {
    valid: true,
    reason: temporary ? `valid temporary/test code (individual number ${zzz} in 900–999)` : 'valid',
    value: {
      hetu,
      birthDate,
      centurySign: sign!,
      individualNumber,
      checkCharacter: check!,
      temporary,
      sex,
      sexReason,
    },
  };
}

/** Builds a HETU from its parts, computing the check character (for tests and generated data). */
export function makeHetu(birthDate: string, individualNumber: number, centurySign?: string): string {
  const [y, m, d] = birthDate.split('-');
  const year = Number(y);
  const sign = centurySign ?? (year < 1900 ? '+' : year < 2000 ? '-' : 'A');
  if (CENTURY[sign] !== Math.floor(year / 100) * 100)
    throw new RangeError(`century sign ${sign} does not fit ${year}`);
  const digits = `${d}${m}${y!.slice(2)}`;
  const zzz = String(individualNumber).padStart(3, '0');
  return `${digits}${sign}${zzz}${hetuCheckCharacter(digits, zzz)}`;
}
