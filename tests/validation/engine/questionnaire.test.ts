// QuestionnaireResponse against its Questionnaire (contained or from the registry).
import { beforeAll, describe, expect, it } from 'vitest';
import { type Validator, createValidator } from '../../../src/validation/index.ts';
import { errors, warnings } from './helpers.ts';

const Q_URL = 'http://example.org/Questionnaire/wellbeing';
const text = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div>' };
const questionnaire = {
  resourceType: 'Questionnaire',
  id: 'wellbeing',
  url: Q_URL,
  name: 'Wellbeing',
  status: 'active',
  text,
  item: [
    { linkId: 'score', text: 'Score', type: 'integer', required: true },
    {
      linkId: 'mood',
      text: 'Mood',
      type: 'choice',
      answerOption: [
        { valueCoding: { system: 'http://example.org/mood', code: 'good' } },
        { valueCoding: { system: 'http://example.org/mood', code: 'bad' } },
      ],
    },
    {
      linkId: 'work',
      type: 'group',
      item: [
        { linkId: 'work.hours', text: 'Hours', type: 'decimal', required: true },
        { linkId: 'work.notes', type: 'string', repeats: true },
      ],
    },
    {
      linkId: 'followup',
      type: 'boolean',
      required: true,
      enableWhen: [{ question: 'score', operator: '<', answerInteger: 5 }],
    },
  ],
};

function response(item: unknown[], extra: Record<string, unknown> = {}) {
  return {
    resourceType: 'QuestionnaireResponse',
    id: 'r',
    text,
    questionnaire: Q_URL,
    status: 'completed',
    item,
    ...extra,
  };
}
const score = (n: unknown = 7) => ({ linkId: 'score', answer: [{ valueInteger: n }] });
const work = (items: unknown[] = [{ linkId: 'work.hours', answer: [{ valueDecimal: 7.5 }] }]) => ({
  linkId: 'work',
  item: items,
});

// The same Questionnaire at another url, with a version of its own.
const Q_VERSIONED = 'http://example.org/Questionnaire/wellbeing-versioned';
const versioned = { ...questionnaire, id: 'wellbeing-versioned', url: Q_VERSIONED, version: '1.2.0' };

let v: Validator;
beforeAll(async () => {
  v = await createValidator({ fiBase: false, resources: [questionnaire as never, versioned as never] });
});

describe('QuestionnaireResponse against its Questionnaire', () => {
  it('accepts a complete response (followup is required only when score < 5 enables it)', () => {
    const mood = {
      linkId: 'mood',
      answer: [{ valueCoding: { system: 'http://example.org/mood', code: 'good' } }],
    };
    expect(errors(v.validate(response([score(), mood, work()])))).toEqual([]);
    expect(errors(v.validate(response([score(3), mood, work()])))).toEqual([
      "QuestionnaireResponse | No response found for required item with id = 'followup'",
    ]);
  });

  it('finds the Questionnaire contained in the response', () => {
    const r = response([{ linkId: 'nope' }], {
      questionnaire: '#q',
      contained: [{ ...questionnaire, id: 'q' }],
    });
    expect(errors(v.validate(r))).toContain(
      "QuestionnaireResponse.item[0] | LinkId 'nope' not found in questionnaire",
    );
  });

  it('rejects an unknown linkId and an item in the wrong place', () => {
    expect(
      errors(
        v.validate(
          response([
            score(),
            { linkId: 'work.hours', answer: [{ valueDecimal: 1 }] },
            work(),
            { linkId: 'x' },
          ]),
        ),
      ),
    ).toEqual([
      "QuestionnaireResponse.item[1] | Structural Error: the item with linkId 'work.hours' is in the wrong place",
      "QuestionnaireResponse.item[3] | LinkId 'x' not found in questionnaire",
    ]);
  });

  it('rejects items out of order', () => {
    expect(errors(v.validate(response([work(), score()])))).toEqual([
      'QuestionnaireResponse.item[1] | Structural Error: items are out of order',
    ]);
  });

  it('requires required items when completed, warns while in progress', () => {
    expect(errors(v.validate(response([{ linkId: 'work' }])))).toEqual([
      "QuestionnaireResponse | No response found for required item with id = 'score'",
      "QuestionnaireResponse.item[0] | No response found for required item with id = 'work.hours'",
    ]);
    const oo = v.validate(response([{ linkId: 'score' }, work()], { status: 'in-progress' }));
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo)).toContain(
      "QuestionnaireResponse.item[0] | No response answer found for required item 'score'",
    );
  });

  it('checks the answer type against the item type', () => {
    const wrong = { linkId: 'score', answer: [{ valueString: '7' }] };
    expect(errors(v.validate(response([wrong, work()])))).toEqual([
      'QuestionnaireResponse.item[0].answer[0] | Answer value must be of type integer',
    ]);
  });

  it('checks choice answers against answerOption', () => {
    const mood = {
      linkId: 'mood',
      answer: [{ valueCoding: { system: 'http://example.org/mood', code: 'meh' } }],
    };
    expect(errors(v.validate(response([score(), mood, work()])))).toEqual([
      "QuestionnaireResponse.item[1].answer[0] | The coding 'http://example.org/mood::meh' is not a valid option",
    ]);
  });

  it('allows one answer unless the item repeats, and no answers on groups', () => {
    const two = { linkId: 'score', answer: [{ valueInteger: 6 }, { valueInteger: 7 }] };
    const notes = { linkId: 'work.notes', answer: [{ valueString: 'a' }, { valueString: 'b' }] };
    const hours = { linkId: 'work.hours', answer: [{ valueDecimal: 1 }] };
    expect(errors(v.validate(response([two, { linkId: 'work', item: [hours, notes] }])))).toEqual([
      "QuestionnaireResponse.item[0] | Only one response answer item with linkId 'score' allowed",
    ]);
    const groupAnswer = { linkId: 'work', answer: [{ valueString: 'x', item: [hours] }] };
    expect(errors(v.validate(response([score(), groupAnswer])))).toContain(
      'QuestionnaireResponse.item[1].answer[0] | Items of type group should not have answers',
    );
  });

  it('item text must match the Questionnaire', () => {
    const renamed = { linkId: 'score', text: 'Points', answer: [{ valueInteger: 8 }] };
    expect(errors(v.validate(response([renamed, work()])))).toEqual([
      "QuestionnaireResponse.item[0].text | If text exists, it must match the questionnaire definition for linkId 'score'",
    ]);
  });

  it('warns when the Questionnaire cannot be found', () => {
    const oo = v.validate(response([score()], { questionnaire: 'http://example.org/Questionnaire/unknown' }));
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo)).toContain(
      "QuestionnaireResponse.questionnaire | The questionnaire 'http://example.org/Questionnaire/unknown' could not be resolved, so no validation can be performed against the base questionnaire",
    );
  });
});

describe('a versioned questionnaire canonical', () => {
  const renamed = { linkId: 'score', text: 'Points', answer: [{ valueInteger: 8 }] };
  const textError =
    "QuestionnaireResponse.item[0].text | If text exists, it must match the questionnaire definition for linkId 'score'";

  it('resolves the version held (exactly, or by its major.minor), as meta.profile does', () => {
    for (const ref of [Q_VERSIONED, `${Q_VERSIONED}|1.2.0`, `${Q_VERSIONED}|1.2`])
      expect(errors(v.validate(response([renamed, work()], { questionnaire: ref })))).toEqual([textError]);
  });

  it('is not found when that version is not loaded: a warning at questionnaire, no check against another version', () => {
    const ref = `${Q_VERSIONED}|9.9.9`;
    const oo = v.validate(response([renamed, work()], { questionnaire: ref }));
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo)).toContain(
      `QuestionnaireResponse.questionnaire | The questionnaire '${ref}' could not be resolved, so no validation can be performed against the base questionnaire`,
    );
  });
});

describe('answerValueSet on string, integer, date and time answers', () => {
  // A canonical ValueSet from the R4 core (fully enumerable) and one no offline expansion can list.
  const gender = 'http://hl7.org/fhir/ValueSet/administrative-gender';
  const snomed = {
    resourceType: 'ValueSet',
    id: 'any-finding',
    status: 'active',
    compose: { include: [{ system: 'http://snomed.info/sct' }] },
  };
  const ask = (answerValueSet: string, answer: Record<string, unknown>, type = 'string') =>
    response([{ linkId: 'a', answer: [answer] }], {
      questionnaire: '#q',
      contained: [
        ...(answerValueSet === '#any-finding' ? [snomed] : []),
        {
          resourceType: 'Questionnaire',
          id: 'q',
          status: 'active',
          item: [{ linkId: 'a', type, answerValueSet }],
        },
      ],
    });

  it('accepts a code of a canonical ValueSet as a string answer, without a warning', () => {
    const oo = v.validate(ask(gender, { valueString: 'female' }));
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo)).toEqual([]);
  });

  it('warns (never refuses) on a string answer that is no code of the ValueSet', () => {
    const oo = v.validate(ask(gender, { valueString: 'woman' }));
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo)).toEqual([
      `QuestionnaireResponse.item[0].answer[0].value.ofType(string) | answerValueSet: the string answer 'woman' is not a code in the item's answerValueSet '${gender}'`,
    ]);
  });

  it('does not judge answers against a ValueSet whose members cannot be listed offline', () => {
    const oo = v.validate(ask('#any-finding', { valueDate: '2024-05-01' }, 'date'));
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo)).toEqual([]);
  });

  it('warns when a contained answerValueSet of a Coding answer is missing', () => {
    const oo = v.validate(
      ask('#nowhere', { valueCoding: { system: 'http://example.org/cs', code: 'x' } }, 'choice'),
    );
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo)).toContain(
      "QuestionnaireResponse.item[0].answer[0].value.ofType(Coding) | answerValueSet: the contained ValueSet '#nowhere' could not be found, so the answer was not checked",
    );
  });
});
