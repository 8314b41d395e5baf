// enableWhen judged directly (src/validation/checks/questionnaire-enable.ts): each operator on each
// answer type, the two behaviours, and the cases that stay `unknown` — where the validator then
// neither requires an item nor refuses its answers.
import { describe, expect, it } from 'vitest';
import { type Enablement, enablement } from '../../../src/validation/checks/questionnaire-enable.ts';

type Json = Record<string, unknown>;

/** A response whose item `q1` holds `answers` (each `{ value<Type>: … }`). */
const response = (...answers: Json[]): Json => ({
  resourceType: 'QuestionnaireResponse',
  item: [{ linkId: 'q1', ...(answers.length ? { answer: answers } : {}) }],
});
/** A Questionnaire item enabled when `q1 <operator> <answer>`. */
const when = (operator: string, answer: Json, more: Json = {}): Json => ({
  linkId: 'q2',
  enableWhen: [{ question: 'q1', operator, ...answer }],
  ...more,
});

/** A Questionnaire item enabled by `conditions` on q1, combined by `behavior`. */
const behaving = (behavior: 'all' | 'any', ...conditions: Json[]): Json => ({
  linkId: 'q2',
  enableBehavior: behavior,
  enableWhen: conditions.map((c) => ({ question: 'q1', ...c })),
});
const exists = { operator: 'exists', answerBoolean: true };
const equals2 = { operator: '=', answerInteger: 2 };
/** Not comparable with an integer answer. */
const aboveA = { operator: '>', answerString: 'a' };

const coding = (code: string, system = 'urn:example:s') => ({ system, code });
const m = (value: number, code: string) => ({ value, system: 'http://unitsofmeasure.org', code });

/** [name, item, response, expected]. */
const CASES: Array<[string, Json, Json, Enablement]> = [
  [
    'exists true, answered',
    when('exists', { answerBoolean: true }),
    response({ valueInteger: 1 }),
    'enabled',
  ],
  ['exists true, unanswered', when('exists', { answerBoolean: true }), response(), 'disabled'],
  ['exists false, unanswered', when('exists', { answerBoolean: false }), response(), 'enabled'],
  ['exists without a boolean', when('exists', { answerInteger: 1 }), response(), 'unknown'],
  [
    '= Coding, same',
    when('=', { answerCoding: coding('a') }),
    response({ valueCoding: coding('a') }),
    'enabled',
  ],
  [
    '= Coding, other code',
    when('=', { answerCoding: coding('a') }),
    response({ valueCoding: coding('b') }),
    'disabled',
  ],
  [
    '= Coding, other system',
    when('=', { answerCoding: coding('a') }),
    response({ valueCoding: coding('a', 'urn:x') }),
    'disabled',
  ],
  [
    '= Coding, no system',
    when('=', { answerCoding: coding('a') }),
    response({ valueCoding: { code: 'a' } }),
    'unknown',
  ],
  [
    '= Coding, an answer of another type',
    when('=', { answerCoding: coding('a') }),
    response({ valueString: 'a' }),
    'disabled',
  ],
  [
    '!= Coding, other code',
    when('!=', { answerCoding: coding('a') }),
    response({ valueCoding: coding('b') }),
    'enabled',
  ],
  ['!= unanswered', when('!=', { answerCoding: coding('a') }), response(), 'unknown'],
  [
    '= Reference',
    when('=', { answerReference: { reference: 'Patient/1' } }),
    response({ valueReference: { reference: 'Patient/1' } }),
    'enabled',
  ],
  [
    '= Reference, another',
    when('=', { answerReference: { reference: 'Patient/1' } }),
    response({ valueReference: { reference: 'Patient/2' } }),
    'disabled',
  ],
  ['= Boolean', when('=', { answerBoolean: true }), response({ valueBoolean: true }), 'enabled'],
  ['= Boolean, the other', when('=', { answerBoolean: true }), response({ valueBoolean: false }), 'disabled'],
  ['> integer', when('>', { answerInteger: 5 }), response({ valueInteger: 6 }), 'enabled'],
  ['> integer, equal', when('>', { answerInteger: 5 }), response({ valueInteger: 5 }), 'disabled'],
  ['>= integer, equal', when('>=', { answerInteger: 5 }), response({ valueInteger: 5 }), 'enabled'],
  ['< decimal', when('<', { answerDecimal: 1.5 }), response({ valueDecimal: 1.25 }), 'enabled'],
  ['<= decimal, above', when('<=', { answerDecimal: 1.5 }), response({ valueDecimal: 2 }), 'disabled'],
  ['> an answer of another type', when('>', { answerInteger: 5 }), response({ valueString: '6' }), 'unknown'],
  [
    '> Quantity, converted',
    when('>', { answerQuantity: m(1, 'm') }),
    response({ valueQuantity: m(150, 'cm') }),
    'enabled',
  ],
  [
    '< Quantity, converted',
    when('<', { answerQuantity: m(1, 'm') }),
    response({ valueQuantity: m(150, 'cm') }),
    'disabled',
  ],
  [
    '> Quantity, units that do not convert',
    when('>', { answerQuantity: m(1, 'm') }),
    response({ valueQuantity: m(1, 'kg') }),
    'unknown',
  ],
  [
    '> date, same precision',
    when('>', { answerDate: '2025-01-01' }),
    response({ valueDate: '2025-06-01' }),
    'enabled',
  ],
  [
    '> date, other precision',
    when('>', { answerDate: '2025-01-01' }),
    response({ valueDate: '2025-06' }),
    'unknown',
  ],
  ['= string', when('=', { answerString: 'kyllä' }), response({ valueString: 'kyllä' }), 'enabled'],
  ['an unknown operator', when('~', { answerString: 'a' }), response({ valueString: 'a' }), 'unknown'],
  ['all: one condition false', behaving('all', exists, equals2), response({ valueInteger: 1 }), 'disabled'],
  ['any: one condition true', behaving('any', equals2, exists), response({ valueInteger: 1 }), 'enabled'],
  ['all: one unknown, none false', behaving('all', exists, aboveA), response({ valueInteger: 1 }), 'unknown'],
];

describe('enableWhen', () => {
  it.each(CASES)('%s → %s', (_name, item, root, want) => {
    expect(enablement(item, [root])).toBe(want);
  });

  it('no enableWhen, or no response around the item: unknown', () => {
    expect(enablement({ linkId: 'q2' }, [response()])).toBe('unknown');
    expect(enablement(when('exists', { answerBoolean: true }), [])).toBe('unknown');
  });

  it('inside a repeating group each repetition is judged by its own answer, when the whole response agrees', () => {
    const group = (value: number) => ({
      linkId: 'g',
      item: [{ linkId: 'q1', answer: [{ valueInteger: value }] }],
    });
    const root = { resourceType: 'QuestionnaireResponse', item: [group(1), group(1)] };
    const item = when('=', { answerInteger: 1 });
    expect(enablement(item, [root, root.item[0]!])).toBe('enabled');
    // Repetitions that differ: the nearest reading and the whole-response reading disagree.
    const mixed = { resourceType: 'QuestionnaireResponse', item: [group(1), group(2)] };
    expect(enablement(when('=', { answerInteger: 2 }), [mixed, mixed.item[0]!])).toBe('unknown');
  });
});
