// enableWhen of a Questionnaire item against a QuestionnaireResponse (R4 questionnaire.html#item,
// enableWhen / enableBehavior). The question's answers are looked up in the nearest enclosing part of
// the response that holds an item with that linkId (so a repeating group is judged repetition by
// repetition) and, separately, in the whole response; the item's enablement is certain only when both
// readings agree and every comparison involved could be made. Anything else is `unknown`, and the
// caller then neither requires the item nor refuses its answers.
import { compareQuantities } from '../quantity.ts';
import { isObject } from '../util.ts';

type Json = Record<string, unknown>;
export type Enablement = 'enabled' | 'disabled' | 'unknown';
type Verdict = boolean | undefined;

const list = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);

/** The answers of every response item with `linkId` below `node` (items, and items under answers). */
function answersBelow(node: Json, linkId: string, out: Json[]): boolean {
  let found = false;
  for (const item of list(node.item)) {
    if (item.linkId === linkId) {
      found = true;
      out.push(...list(item.answer));
    }
    if (answersBelow(item, linkId, out)) found = true;
    for (const a of list(item.answer)) if (answersBelow(a, linkId, out)) found = true;
  }
  return found;
}

/**
 * `scopes`: the response nodes enclosing the item (root first, the item's own container last).
 */
export function enablement(q: Json, scopes: Json[]): Enablement {
  const conditions = list(q.enableWhen);
  if (!conditions.length || !scopes.length) return 'unknown';
  const all = q.enableBehavior === 'all';
  const readings: Verdict[] = [];
  for (const nearest of [true, false]) {
    const verdicts = conditions.map((c) => condition(c, answersFor(c, scopes, nearest)));
    readings.push(combine(verdicts, all));
  }
  if (readings[0] === undefined || readings[0] !== readings[1]) return 'unknown';
  return readings[0] ? 'enabled' : 'disabled';
}

function answersFor(c: Json, scopes: Json[], nearest: boolean): Json[] {
  const linkId = typeof c.question === 'string' ? c.question : '';
  if (!nearest) {
    const out: Json[] = [];
    answersBelow(scopes[0]!, linkId, out);
    return out;
  }
  for (let i = scopes.length - 1; i >= 0; i--) {
    const out: Json[] = [];
    if (answersBelow(scopes[i]!, linkId, out)) return out;
  }
  return [];
}

function combine(verdicts: Verdict[], all: boolean): Verdict {
  if (all) {
    if (verdicts.some((v) => v === false)) return false;
    return verdicts.every((v) => v === true) ? true : undefined;
  }
  if (verdicts.some((v) => v === true)) return true;
  return verdicts.every((v) => v === false) ? false : undefined;
}

/** One enableWhen against the answers found: true, false, or undefined when it cannot be judged. */
function condition(c: Json, answers: Json[]): Verdict {
  const op = c.operator;
  if (op === 'exists')
    return typeof c.answerBoolean === 'boolean' ? answers.length > 0 === c.answerBoolean : undefined;
  const key = Object.keys(c).find((k) => k.startsWith('answer') && k.length > 6);
  if (!key) return undefined;
  const valueKey = `value${key.slice(6)}`;
  const results: Verdict[] = answers.map((a) => compare(op, a[valueKey], c[key], key.slice(6)));
  if (op === '!=') {
    if (!answers.length) return undefined; // readings differ on a question left unanswered
    if (results.some((r) => r === undefined)) return undefined;
    return results.every((r) => r === true);
  }
  if (results.some((r) => r === true)) return true;
  return results.every((r) => r === false) ? false : undefined;
}

/** `answer op expected` for one answer value; undefined when not comparable. */
function compare(op: unknown, answer: unknown, expected: unknown, type: string): Verdict {
  const equality = op === '=' || op === '!=';
  // An answer of another type is not equal; it cannot be ordered.
  const c = answer === undefined ? Number.NaN : order(answer, expected, type);
  if (c === undefined || (Number.isNaN(c) && !equality)) return undefined;
  switch (op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '>':
      return c > 0;
    case '<':
      return c < 0;
    case '>=':
      return c >= 0;
    case '<=':
      return c <= 0;
    default:
      return undefined;
  }
}

/**
 * -1/0/1 ordering (NaN for equal-or-not only: Coding, Reference, Boolean), undefined when unknown.
 * Quantities compare after UCUM conversion; other units, or no value, cannot be compared.
 */
function order(a: unknown, b: unknown, type: string): number | undefined {
  if (type === 'Coding') {
    if (!isObject(a) || !isObject(b) || !a.system || !b.system) return undefined;
    return a.system === b.system && a.code === b.code ? 0 : Number.NaN;
  }
  if (type === 'Reference') {
    if (!isObject(a) || !isObject(b) || typeof a.reference !== 'string') return undefined;
    return a.reference === b.reference ? 0 : Number.NaN;
  }
  if (type === 'Quantity') return isObject(a) && isObject(b) ? compareQuantities(a, b) : undefined;
  if (type === 'Boolean') return typeof a === 'boolean' ? (a === b ? 0 : Number.NaN) : undefined;
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  if (typeof a === 'string' && typeof b === 'string') {
    // Dates and times compare as text only at the same precision.
    if ((type === 'Date' || type === 'DateTime' || type === 'Time') && a.length !== b.length)
      return undefined;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  return undefined;
}
