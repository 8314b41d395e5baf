// What a Consent and a Goal say of who and what, and the domain holds: a consent's performer that is its
// own client, a goal's setter (the client or a professional), its onward path (outcomeCode) and its
// priority are read and written back; anyone else as performer or setter is refused at the element.
import type { Consent, Goal } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import type { Goal as DomainGoal, WorkAbilityRecord } from '../../src/domain/index.ts';
import { consentForDisclosure, fromFhir, toFhir } from '../../src/mapping/index.ts';
import { entryOf, refusal } from './reader-helpers.ts';

const ONWARD = 'https://tyokyky-fhir.org/fhir/CodeSystem/onward-path';
const PRIORITY = 'http://terminology.hl7.org/CodeSystem/goal-priority';

/** Suvi with her first goal extended by `extra`. */
function withGoal(extra: Partial<DomainGoal>): WorkAbilityRecord {
  const plan = suvi.plans![0]!;
  const [first, ...rest] = plan.goals;
  return { ...suvi, plans: [{ ...plan, goals: [{ ...first!, ...extra }, ...rest] }] };
}

describe('Consent.performer', () => {
  it('toFhir writes the client as the one who gave the consent, and it reads back', () => {
    const bundle = toFhir(suvi);
    const { resource } = entryOf<Consent>(bundle, 'tyokyky-consent');
    expect(resource.performer).toEqual([resource.patient]);
    expect(fromFhir(bundle)).toEqual(suvi);
    expect(consentForDisclosure(resource).parties).toEqual(suvi.consents![0]!.parties);
  });

  it('a performer naming the client by a literal reference that resolves to her is read', () => {
    const bundle = toFhir(suvi);
    const patient = entryOf(bundle, 'tyokyky-patient').entry;
    const { resource } = entryOf<Consent>(bundle, 'tyokyky-consent');
    resource.performer = [{ reference: patient.fullUrl! }];
    expect(fromFhir(bundle)).toEqual(suvi);
  });

  it.each([
    ['another Patient (a guardian)', { reference: 'Patient/guardian', type: 'Patient' as const }],
    ['an Organization', { reference: 'Organization/x' }],
    ['a display only', { display: 'Huoltaja' }],
  ])('a performer naming %s is refused at the element', (_, performer) => {
    const bundle = toFhir(suvi);
    const { resource, path } = entryOf<Consent>(bundle, 'tyokyky-consent');
    resource.performer = [resource.patient!, performer];
    const found = refusal(() => fromFhir(bundle));
    expect(found.expression).toBe(`${path}.performer[1]`);
    expect(found.diagnostics).toContain('a consent given by another than its client');
    expect(refusal(() => consentForDisclosure(resource)).expression).toBe('Consent.performer[1]');
  });
});

describe('Goal.expressedBy', () => {
  it('the client as setter is written as the Goal subject and read back', () => {
    const record = withGoal({ expressedBy: 'client' });
    const bundle = toFhir(record);
    const { resource } = entryOf<Goal>(bundle, 'tyokyky-goal');
    expect(resource.expressedBy).toEqual(resource.subject);
    expect(fromFhir(bundle)).toEqual(record);
  });

  it('a professional as setter is carried by id and read back', () => {
    const record = withGoal({ expressedBy: { professionalId: 'coach-laine' } });
    const bundle = toFhir(record);
    const { resource } = entryOf<Goal>(bundle, 'tyokyky-goal');
    expect(resource.expressedBy?.type).toBe('PractitionerRole');
    expect(resource.expressedBy?.identifier?.value).toBe('coach-laine');
    expect(fromFhir(bundle)).toEqual(record);
  });

  it('a professional setter not in the record breaks the reference rule', () => {
    expect(() => toFhir(withGoal({ expressedBy: { professionalId: 'nobody' } }))).toThrow(
      'plans[0].goals[0].expressedBy.professionalId',
    );
  });

  it('another Patient as setter is refused at the element', () => {
    const bundle = toFhir(suvi);
    const { resource } = entryOf<Goal>(bundle, 'tyokyky-goal');
    resource.expressedBy = { reference: 'Patient/someone-else', type: 'Patient' };
    const found = refusal(() => fromFhir(bundle));
    expect(found.expression).toBe(`${entryOf(bundle, 'tyokyky-support-plan').path}.goal[0].expressedBy`);
    expect(found.diagnostics).toContain('a goal set by another than its client or a professional');
  });
});

describe('Goal.outcomeCode: the onward path', () => {
  it('is written to outcomeCode, told in the narrative in fi, sv and en, and read back', () => {
    const record = withGoal({ onwardPath: 'work-trial' });
    for (const [lang, words] of [
      ['fi', 'Jatkopolku: työkokeilu'],
      ['sv', 'Fortsatt väg: arbetsprövning'],
      ['en', 'Onward path: work trial'],
    ] as const) {
      const bundle = toFhir(record, { language: lang });
      const { resource } = entryOf<Goal>(bundle, 'tyokyky-goal');
      expect(resource.outcomeCode).toEqual([
        { coding: [expect.objectContaining({ system: ONWARD, code: 'work-trial' })] },
      ]);
      expect(resource.text!.div.toLowerCase()).toContain(words.toLowerCase());
      expect(fromFhir(bundle)).toEqual(record);
    }
  });

  it('a second onward path, or one from another code system, is refused at the element', () => {
    const bundle = toFhir(withGoal({ onwardPath: 'studies' }));
    const { resource } = entryOf<Goal>(bundle, 'tyokyky-goal');
    const at = `${entryOf(bundle, 'tyokyky-support-plan').path}.goal[0]`;
    resource.outcomeCode!.push({ coding: [{ system: ONWARD, code: 'pension' }] });
    expect(refusal(() => fromFhir(bundle)).expression).toBe(`${at}.outcomeCode[1]`);
    resource.outcomeCode = [{ coding: [{ system: 'https://example.org/paths', code: 'x' }] }];
    expect(refusal(() => fromFhir(bundle))).toEqual({
      expression: `${at}.outcomeCode[0]`,
      diagnostics: `${at}.outcomeCode[0]: no code from CodeSystem onward-path`,
    });
  });
});

describe('Goal.priority', () => {
  it.each([
    ['high', 'high-priority'],
    ['medium', 'medium-priority'],
    ['low', 'low-priority'],
  ] as const)('%s is written as %s and read back', (priority, code) => {
    const record = withGoal({ priority });
    const bundle = toFhir(record);
    const { resource } = entryOf<Goal>(bundle, 'tyokyky-goal');
    expect(resource.priority?.coding).toEqual([expect.objectContaining({ system: PRIORITY, code })]);
    expect(fromFhir(bundle)).toEqual(record);
  });

  it('a priority without a goal-priority code is refused at the element', () => {
    const bundle = toFhir(suvi);
    const { resource } = entryOf<Goal>(bundle, 'tyokyky-goal');
    resource.priority = { text: 'kiireellinen' };
    const at = `${entryOf(bundle, 'tyokyky-support-plan').path}.goal[0].priority`;
    expect(refusal(() => fromFhir(bundle)).expression).toBe(at);
  });
});
