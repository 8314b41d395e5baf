import { join } from 'node:path';
import type { Consent, Goal } from '@medplum/fhirtypes';
/**
 * The profile invariants evaluated with fhirpath.js directly (independent of the project validator),
 * including property tests over generated HETUs.
 */
import fc from 'fast-check';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4/index.js';
import { describe, expect, it } from 'vitest';
import { CENTURY_SIGNS, CHECK_CHARS, makeHetu } from '../../src/domain/rules/hetu.ts';
import { consentDefect } from '../../src/mapping/consent-reader.ts';
import { fromFhir } from '../../src/mapping/index.ts';
import { FhirError } from '../../src/shared/outcome.ts';
import { type Json, PACKAGE, profiles, readJson } from './fixtures.ts';

const SDS = profiles();
const compiled = new Map<string, (node: Json, vars: Json) => unknown[]>();

function invariant(key: string): { path: string; expression: string } {
  for (const sd of SDS) {
    for (const e of sd.snapshot.element) {
      const c = (e.constraint ?? []).find((x: Json) => x.key === key);
      if (c) return { path: e.path, expression: c.expression };
    }
  }
  throw new Error(`no invariant ${key}`);
}

function holds(key: string, node: Json, base: string): boolean {
  const result = evaluate(key, node, base);
  return result.length === 1 && result[0] === true;
}

/** The invariant's raw result on `node` (validators read an empty one as holding). */
function evaluate(key: string, node: Json, base: string): unknown[] {
  let fn = compiled.get(`${key}|${base}`);
  if (!fn) {
    fn = fhirpath.compile({ base, expression: invariant(key).expression }, r4 as any) as unknown as (
      node: Json,
      vars: Json,
    ) => unknown[];
    compiled.set(`${key}|${base}`, fn);
  }
  // %resource is the node itself when it is a resource (the tests here check whole resources or lone elements).
  return fn(node, { resource: node });
}

const CHECK = CHECK_CHARS;
const CENTURY = CENTURY_SIGNS;
const iso = (date: Date) => date.toISOString().slice(0, 10);

const hetuId = (value: string) => ({ system: 'urn:oid:1.2.246.21', value });

const validHetu = fc
  .record({
    sign: fc.constantFrom(...Object.keys(CENTURY)),
    days: fc.integer({ min: 0, max: 36523 }), // stays inside the sign's century
    individual: fc.integer({ min: 900, max: 999 }),
  })
  .map(({ sign, days, individual }) => {
    const date = new Date(Date.UTC(CENTURY[sign]!, 0, 1) + days * 86_400_000);
    return { hetu: makeHetu(iso(date), individual, sign), future: date.getTime() > Date.now() - 86_400_000 };
  })
  // A birth date in the future is no HETU (checked below); yesterday and before are.
  .filter(({ future }) => !future)
  .map(({ hetu }) => hetu);

describe('tyk-hetu-1', () => {
  it('accepts every well-formed HETU with a real date, any century sign', () => {
    fc.assert(
      fc.property(validHetu, (h) => holds('tyk-hetu-1', hetuId(h), 'Identifier')),
      { numRuns: 300 },
    );
  });

  it('rejects a birth date in the future, for every century sign of this century', () => {
    const future = new Date(Date.now() + 2 * 86_400_000);
    for (const sign of Object.keys(CENTURY).filter((k) => CENTURY[k] === 2000)) {
      expect(holds('tyk-hetu-1', hetuId(makeHetu(iso(future), 905, sign)), 'Identifier'), sign).toBe(false);
    }
  });

  it('rejects any other check character', () => {
    fc.assert(
      fc.property(validHetu, fc.integer({ min: 1, max: 30 }), (h, shift) => {
        const wrong = CHECK[(CHECK.indexOf(h[10]!) + shift) % 31];
        return !holds('tyk-hetu-1', hetuId(h.slice(0, 10) + wrong), 'Identifier');
      }),
      { numRuns: 200 },
    );
  });

  it.each([
    ['290200A901C', true, '29 Feb 2000 (leap)'],
    ['290200-901C', false, '29 Feb 1900 (not leap)'],
    ['310481-9005', false, '31 April'],
    ['010181-900C', true, 'the Kanta sample code'],
    ['010181*900C', false, 'unknown century sign'],
    ['010181-90C', false, 'too short'],
    ['010181-001C', false, 'individual number 001 is never issued'],
    ['010181-002D', true, 'individual number 002'],
  ])('%s → %s (%s)', (value, ok) => {
    expect(holds('tyk-hetu-1', hetuId(value), 'Identifier')).toBe(ok);
  });

  it('leaves temporary identifiers alone', () => {
    expect(
      holds('tyk-hetu-1', { system: 'urn:oid:1.2.246.10.1234567.10.1', value: 'TEMP-1' }, 'Identifier'),
    ).toBe(true);
  });
});

describe('tyk-was-1 / tyk-was-2', () => {
  const obs = (value: number, interpretation?: string): Json => ({
    resourceType: 'Observation',
    valueInteger: value,
    ...(interpretation && {
      interpretation: [
        {
          coding: [
            {
              system: 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-interpretation',
              code: interpretation,
            },
          ],
        },
      ],
    }),
  });
  it('tyk-was-1 holds exactly for 0..10', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -50, max: 50 }),
        (v) => holds('tyk-was-1', obs(v), 'Observation') === (v >= 0 && v <= 10),
      ),
    );
  });
  it('tyk-was-2 requires needs-further-assessment exactly when the score is 7 or lower', () => {
    for (let v = 0; v <= 10; v++) {
      expect(holds('tyk-was-2', obs(v), 'Observation'), `${v} without interpretation`).toBe(v > 7);
      expect(holds('tyk-was-2', obs(v, 'needs-further-assessment'), 'Observation')).toBe(true);
      expect(holds('tyk-was-2', obs(v, 'no-further-assessment'), 'Observation')).toBe(v > 7);
    }
  });
});

describe('tyk-rwa-1 / tyk-rwa-2', () => {
  const activity = (repeat: Json, code = 'rehabilitative-work-activity'): Json => ({
    detail: {
      code: { coding: [{ system: 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-service', code }] },
      status: 'in-progress',
      scheduledTiming: { repeat },
    },
  });
  it('tyk-rwa-1 allows 1-4 days a week only', () => {
    for (let f = 0; f <= 7; f++) {
      expect(
        holds('tyk-rwa-1', activity({ frequency: f, period: 1, periodUnit: 'wk' }), 'CarePlan.activity'),
        `${f}/wk`,
      ).toBe(f >= 1 && f <= 4);
    }
    expect(
      holds('tyk-rwa-1', activity({ frequency: 2, period: 1, periodUnit: 'd' }), 'CarePlan.activity'),
    ).toBe(false);
    expect(
      holds(
        'tyk-rwa-1',
        activity({ frequency: 5, period: 1, periodUnit: 'wk' }, 'social-work'),
        'CarePlan.activity',
      ),
    ).toBe(true);
  });
  it('tyk-rwa-2 allows 3-24 months as a period or a duration', () => {
    const period = (end: string) => activity({ boundsPeriod: { start: '2026-02-01', end } });
    // The end day is included (FHIR Period): 1 February–30 April is three months, to 31 January 2028 24.
    expect(holds('tyk-rwa-2', period('2026-04-29'), 'CarePlan.activity')).toBe(false);
    expect(holds('tyk-rwa-2', period('2026-04-30'), 'CarePlan.activity')).toBe(true);
    expect(holds('tyk-rwa-2', period('2028-01-31'), 'CarePlan.activity')).toBe(true);
    expect(holds('tyk-rwa-2', period('2028-02-01'), 'CarePlan.activity')).toBe(false);
    for (let m = 0; m <= 30; m++) {
      const a = activity({
        boundsDuration: { value: m, unit: 'months', system: 'http://unitsofmeasure.org', code: 'mo' },
      });
      expect(holds('tyk-rwa-2', a, 'CarePlan.activity'), `${m} mo`).toBe(m >= 3 && m <= 24);
    }
    expect(holds('tyk-rwa-2', activity({}), 'CarePlan.activity')).toBe(false);
  });
});

describe('tyk-ctm-1 / tyk-ctm-2', () => {
  const ROLE = 'https://tyokyky-fhir.org/fhir/CodeSystem/care-team-role';
  const p = (code: string, end?: string) => ({
    role: [{ coding: [{ system: ROLE, code }] }],
    period: { start: '2025-01-01', ...(end && { end }) },
  });
  const team = (...participant: Json[]) => ({ resourceType: 'CareTeam', participant });
  it('needs at least one open responsible-worker-kind participant (a pair may share the role)', () => {
    expect(holds('tyk-ctm-1', team(p('own-worker')), 'CareTeam')).toBe(true);
    expect(
      holds(
        'tyk-ctm-1',
        team(p('te-expert', '2025-06-01'), p('kuntakokeilu-coach'), p('job-coach')),
        'CareTeam',
      ),
    ).toBe(true);
    expect(holds('tyk-ctm-1', team(p('own-worker'), p('patient-responsible-worker')), 'CareTeam')).toBe(true);
    expect(holds('tyk-ctm-1', team(p('own-worker', '2025-06-01'), p('doctor')), 'CareTeam')).toBe(false);
  });
  it('an inactive team (the client relationship ended) needs no current worker, and every period ended (tyk-ctm-2)', () => {
    const ended = {
      ...team(p('own-worker', '2026-06-30'), p('doctor', '2026-06-01')),
      status: 'inactive',
      period: { start: '2025-01-01', end: '2026-06-30' },
    };
    expect(holds('tyk-ctm-1', ended, 'CareTeam')).toBe(true);
    expect(holds('tyk-ctm-2', ended, 'CareTeam')).toBe(true);
    // Active, or with no status: the current worker is still required.
    expect(holds('tyk-ctm-1', { ...ended, status: 'active' }, 'CareTeam')).toBe(false);
    expect(holds('tyk-ctm-1', { ...ended, status: undefined }, 'CareTeam')).toBe(false);
    const stillOpen = { ...ended, ...team(p('own-worker', '2026-06-30'), p('doctor')) };
    expect(holds('tyk-ctm-2', stillOpen, 'CareTeam')).toBe(false);
    // The team carries the day it ended, and no period runs past it.
    expect(holds('tyk-ctm-2', { ...ended, period: { start: '2025-01-01' } }, 'CareTeam')).toBe(false);
    const late = { ...ended, ...team(p('own-worker', '2026-06-30'), p('doctor', '2026-07-01')) };
    expect(holds('tyk-ctm-2', late, 'CareTeam')).toBe(false);
    // Open periods are fine while the team is active or has no status.
    expect(holds('tyk-ctm-2', { ...stillOpen, status: 'active' }, 'CareTeam')).toBe(true);
    expect(holds('tyk-ctm-2', { ...stillOpen, status: undefined }, 'CareTeam')).toBe(true);
  });
});

describe('tyk-con-1 / tyk-ref-1 / tyk-cpl-1', () => {
  it('tyk-con-1: withdrawal is status inactive together with the withdrawal date, both ways — and the SDK reader agrees', () => {
    const ext = [
      {
        url: 'https://tyokyky-fhir.org/fhir/StructureDefinition/consent-withdrawal-date',
        valueDateTime: '2026-03-01',
      },
    ];
    const cases: Array<[string, boolean, boolean]> = [
      ['inactive', false, false],
      ['inactive', true, true],
      ['active', false, true],
      ['active', true, false],
    ];
    for (const [status, withDate, expected] of cases) {
      const c = { resourceType: 'Consent', status, ...(withDate ? { extension: ext } : {}) };
      expect(holds('tyk-con-1', c, 'Consent'), `${status} ${withDate}`).toBe(expected);
      expect(consentDefect(c as Consent)?.message.startsWith('tyk-con-1') ?? false).toBe(!expected);
    }
  });
  it('tyk-con-3: the permit names its limits by parties, classes and period only — and the SDK reader agrees', () => {
    const permit = { type: 'permit', period: { start: '2026-01-01' } };
    const cases: Array<[Json, boolean]> = [
      [permit, true],
      [{ ...permit, type: undefined }, true],
      [{ ...permit, type: 'deny' }, false],
      [{ ...permit, provision: [{ type: 'deny', code: [{ text: 'x' }] }] }, false],
      [{ ...permit, provision: [{ type: 'permit' }] }, false],
      [{ ...permit, data: [{ meaning: 'instance', reference: { reference: 'Observation/o1' } }] }, false],
      [{ ...permit, dataPeriod: { start: '2026-01-01' } }, false],
      [{ ...permit, securityLabel: [{ code: 'R' }] }, false],
      [{ ...permit, purpose: [{ code: 'TREAT' }] }, false],
      [{ ...permit, class: [{ code: 'Observation' }] }, false],
      // An action list permits only what it names: the disclosure rule reads only a disclosure permit.
      [
        {
          ...permit,
          action: [
            { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }] },
          ],
        },
        false,
      ],
      [{ ...permit, action: [{ text: 'disclose' }] }, false],
      [{ ...permit, action: [{ coding: [{ system: 'http://example.org', code: 'disclose' }] }] }, false],
      [
        {
          ...permit,
          action: [
            { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'disclose' }] },
          ],
        },
        true,
      ],
      [
        {
          ...permit,
          action: [
            { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }] },
            { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'disclose' }] },
          ],
        },
        true,
      ],
      [{ ...permit, action: [] }, true],
    ];
    for (const [provision, expected] of cases) {
      const c = { resourceType: 'Consent', status: 'active', provision };
      expect(holds('tyk-con-3', c, 'Consent'), JSON.stringify(provision)).toBe(expected);
      expect(consentDefect(c as Consent)?.message.startsWith('tyk-con-3') ?? false).toBe(!expected);
    }
    expect(holds('tyk-con-3', { resourceType: 'Consent', status: 'active' }, 'Consent')).toBe(true);
  });
  it('tyk-ref-1: supportingInfo references a Consent, literally or by type', () => {
    const sr = (...supportingInfo: Json[]) => ({ resourceType: 'ServiceRequest', supportingInfo });
    expect(holds('tyk-ref-1', sr({ reference: 'Consent/1' }), 'ServiceRequest')).toBe(true);
    expect(holds('tyk-ref-1', sr({ reference: 'https://x.example/fhir/Consent/1' }), 'ServiceRequest')).toBe(
      true,
    );
    expect(
      holds(
        'tyk-ref-1',
        sr({ reference: 'urn:uuid:5b4c1f3e-2a10-5c3d-8e11-000000000041', type: 'Consent' }),
        'ServiceRequest',
      ),
    ).toBe(true);
    expect(holds('tyk-ref-1', sr({ reference: 'Observation/1' }), 'ServiceRequest')).toBe(false);
    expect(holds('tyk-ref-1', sr(), 'ServiceRequest')).toBe(false);
  });
  it('tyk-cpl-1: exactly one plan category', () => {
    const PC = 'https://tyokyky-fhir.org/fhir/CodeSystem/plan-category';
    const cp = (...codes: string[]) => ({
      resourceType: 'CarePlan',
      category: codes.map((code) => ({ coding: [{ system: PC, code }] })),
    });
    expect(holds('tyk-cpl-1', cp('activation-plan'), 'CarePlan')).toBe(true);
    expect(holds('tyk-cpl-1', cp(), 'CarePlan')).toBe(false);
    expect(holds('tyk-cpl-1', cp('activation-plan', 'implementation-plan'), 'CarePlan')).toBe(false);
  });
});

describe('tyk-gol-1 (profile) and the SDK reader (fromFhir, mappings/fhir-map.json goal.states) agree', () => {
  const ACHIEVEMENT = 'http://terminology.hl7.org/CodeSystem/goal-achievement';
  const coded = (...codes: string[]) => ({ coding: codes.map((code) => ({ system: ACHIEVEMENT, code })) });
  // The maximal example's onward path, author and priority have no domain field: the reader refuses
  // them (src/mapping/unheld.ts), so the rows are read without them.
  const {
    outcomeCode: _o,
    expressedBy: _e,
    priority: _p,
    ...goal
  } = readJson(join(PACKAGE, 'example', 'Goal-suvi-goal.json')) as Goal;
  const LIFECYCLE = [
    'proposed',
    'planned',
    'accepted',
    'active',
    'on-hold',
    'completed',
    'cancelled',
    'entered-in-error',
    'rejected',
  ];
  const ACHIEVED = [
    'in-progress',
    'improving',
    'worsening',
    'no-change',
    'achieved',
    'sustaining',
    'not-achieved',
    'no-progress',
    'not-attainable',
  ];
  // [achievementStatus as written, its name in a row]
  const achievements: Array<[Json | undefined, string]> = [
    [undefined, 'none'],
    ...ACHIEVED.map((c): [Json, string] => [coded(c), c]),
    [{ text: 'achieved' }, 'text only'],
    [{ coding: [{ system: 'http://example.org/goal', code: 'achieved' }] }, 'another system'],
    [{ coding: [{ system: ACHIEVEMENT }] }, 'no code'],
    // Both read the first coding of goal-achievement.
    [coded('achieved', 'in-progress'), 'achieved, then in-progress'],
    [coded('in-progress', 'achieved'), 'in-progress, then achieved'],
  ];

  /** Whether fromFhir reads the Goal; a refusal must name tyk-gol-1 at the status it refuses. */
  function read(g: Goal): boolean {
    try {
      fromFhir(g);
      return true;
    } catch (e) {
      expect(e).toBeInstanceOf(FhirError);
      const [issue] = (e as FhirError).outcome.issue!;
      expect(issue!.diagnostics).toMatch(/^Goal\.(lifecycleStatus|achievementStatus): tyk-gol-1: /);
      return false;
    }
  }

  it('on every lifecycle status × achievement, row by row', () => {
    const held: string[] = [];
    for (const lifecycleStatus of LIFECYCLE)
      for (const [achievementStatus, name] of achievements) {
        const { achievementStatus: _, ...rest } = goal;
        const g = { ...rest, lifecycleStatus, ...(achievementStatus && { achievementStatus }) } as Goal;
        const row = `${lifecycleStatus} / ${name}`;
        // Always a boolean: an empty result would pass a validator while fromFhir refuses.
        const [profile, ...more] = evaluate('tyk-gol-1', g, 'Goal');
        expect([typeof profile, more], row).toEqual(['boolean', []]);
        expect(read(g), row).toBe(profile);
        if (profile) held.push(row);
      }
    expect(held).toEqual([
      'active / none',
      'active / in-progress',
      'active / in-progress, then achieved',
      'completed / achieved',
      'completed / achieved, then in-progress',
    ]);
  });

  it('a Goal without lifecycleStatus is refused by both', () => {
    const { lifecycleStatus: _, ...g } = goal;
    expect(holds('tyk-gol-1', g, 'Goal')).toBe(false);
    expect(() => fromFhir(g as Goal)).toThrow(
      expect.objectContaining({
        outcome: expect.objectContaining({
          issue: [expect.objectContaining({ diagnostics: 'Goal.lifecycleStatus: is required' })],
        }),
      }),
    );
  });
});
