// The rehabilitative-work-activity rules (tyk-rwa-1, tyk-rwa-2, tyk-rwa-3) and the ended-team rule
// (tyk-ctm-2): one case table each, evaluated on the FSH expressions of the compiled package
// (fhirpath.js) and by the domain rules, which must agree row by row. Rows that only FHIR can express
// (frequencyMax, dayOfWeek, partial or timed bounds) are refused by fromFhir at the same element.
import { readFileSync, readdirSync } from 'node:fs';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4/index.js';
import { describe, expect, it } from 'vitest';
import {
  type Activity,
  type ResponsibleWorkerTeam,
  checkPlanActivities,
  checkPlanActivity,
  checkResponsibleWorkers,
} from '../../src/domain/index.ts';
import { fromFhir } from '../../src/mapping/index.ts';

type Json = Record<string, any>;

const packageDir = new URL('../../profiles/package/', import.meta.url);
const constraints = new Map<string, { expression: string; path: string }>();
for (const file of readdirSync(packageDir).filter((f) => f.startsWith('StructureDefinition-'))) {
  const sd = JSON.parse(readFileSync(new URL(file, packageDir), 'utf8'));
  for (const e of sd.snapshot?.element ?? [])
    for (const c of e.constraint ?? [])
      if (c.key.startsWith('tyk-')) constraints.set(c.key, { ...c, path: e.path });
}

/** The FSH invariant `key` on `node` (inside `resource`), as a validator reads its answer. */
function published(key: string, node: Json, resource: Json = node): boolean {
  const c = constraints.get(key)!;
  const r = fhirpath.evaluate(
    node,
    { base: c.path, expression: c.expression } as any,
    { resource } as any,
    r4 as any,
  ) as unknown[];
  return r.length === 0 || (r.length === 1 && r[0] === true);
}

const SERVICE = 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-service';
const RWA = 'rehabilitative-work-activity';

/** The CarePlan.activity the SDK writes for a domain activity (frequency per week, bounds). */
function fhirActivity(a: Activity, extra: Json = {}): Json {
  const repeat: Json = { ...extra };
  if (a.period) repeat.boundsPeriod = { ...a.period };
  if (a.durationMonths !== undefined)
    repeat.boundsDuration = { value: a.durationMonths, system: 'http://unitsofmeasure.org', code: 'mo' };
  if (a.daysPerWeek !== undefined)
    Object.assign(repeat, { frequency: a.daysPerWeek, period: 1, periodUnit: 'wk' });
  return {
    detail: {
      code: { coding: [{ system: SERVICE, code: a.service }] },
      status: 'in-progress',
      scheduledTiming: { repeat },
    },
  };
}

const rwa = (daysPerWeek: number | undefined, bounds: Partial<Activity>): Activity => ({
  service: RWA,
  ...(daysPerWeek === undefined ? {} : { daysPerWeek }),
  ...bounds,
});
const period = (start: string, end?: string) => ({ period: end ? { start, end } : { start } });
const months = (durationMonths: number) => ({ durationMonths });

describe('tyk-rwa-1 / tyk-rwa-2 (profile) and checkPlanActivity agree', () => {
  // [why, activity, rwa-1 holds, rwa-2 holds]
  const cases: Array<[string, Activity, boolean, boolean]> = [
    ['2 days, six months', rwa(2, period('2026-02-01', '2026-07-31')), true, true],
    ['4 days', rwa(4, period('2026-02-01', '2026-07-31')), true, true],
    ['5 days', rwa(5, period('2026-02-01', '2026-07-31')), false, true],
    ['no frequency', rwa(undefined, period('2026-02-01', '2026-07-31')), false, true],
    ['exactly three months, end day included', rwa(2, period('2026-02-01', '2026-04-30')), true, true],
    ['a day short of three months', rwa(2, period('2026-02-01', '2026-04-29')), true, false],
    ['24 months', rwa(2, period('2026-02-01', '2028-01-31')), true, true],
    ['a day over 24 months', rwa(2, period('2026-02-01', '2028-02-01')), true, false],
    ['open period', rwa(2, period('2026-02-01')), true, false],
    ['24 months as a duration', rwa(2, months(24)), true, true],
    ['25 months as a duration', rwa(2, months(25)), true, false],
    // FHIRPath keeps a partial date's precision: 2026 + 24 months = 2028 passed before.
    ['years only (2026..2028)', rwa(2, period('2026', '2028')), true, false],
    ['years only, same year', rwa(2, period('2026', '2026')), true, false],
    ['months only (2026-02..2028-02)', rwa(2, period('2026-02', '2028-02')), true, false],
    ['start with a time', rwa(2, period('2026-02-01T08:00:00+02:00', '2026-07-31')), true, false],
    ['another service is not limited', { service: 'social-work', daysPerWeek: 6 }, true, true],
  ];
  it.each(cases)('%s', (_why, a, rwa1, rwa2) => {
    const node = fhirActivity(a);
    const plan = { resourceType: 'CarePlan', activity: [node] };
    expect(published('tyk-rwa-1', node, plan)).toBe(rwa1);
    expect(published('tyk-rwa-2', node, plan)).toBe(rwa2);
    const rules = checkPlanActivity(a).map((v) => v.rule);
    expect(rules.includes('tyk-rwa-1')).toBe(!rwa1);
    expect(rules.includes('tyk-rwa-2')).toBe(!rwa2);
  });

  // FHIR-only shapes: the profile refuses them and fromFhir refuses them at the element, never reads them.
  const fhirOnly: Array<[string, Json, string, RegExp]> = [
    ['frequencyMax 6', { frequencyMax: 6 }, 'tyk-rwa-1', /\.frequencyMax$/],
    ['frequencyMax 3 (a range the domain cannot hold)', { frequencyMax: 3 }, '', /\.frequencyMax$/],
    [
      'six days of the week',
      { dayOfWeek: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
      'tyk-rwa-1',
      /\.dayOfWeek$/,
    ],
  ];
  it.each(fhirOnly)('%s', (_why, extra, key, where) => {
    const node = fhirActivity(rwa(2, period('2026-04-01', '2026-09-30')), extra);
    const plan = { resourceType: 'CarePlan', activity: [node] };
    if (key) expect(published(key, node, plan)).toBe(false);
    expect(refusal((p) => Object.assign(p.activity[0].detail.scheduledTiming.repeat, extra))).toMatch(where);
  });
  it.each([
    ['2026', '2028'],
    ['2026-02', '2028-02'],
    ['2026-04-01T08:00:00+03:00', '2026-09-30'],
  ])('bounds %s..%s are refused by fromFhir too (tyk-rwa-2)', (start, end) => {
    const where = refusal((p) => {
      p.activity[0].detail.scheduledTiming.repeat.boundsPeriod = { start, end };
    });
    expect(where).toMatch(/\.activity\[0\]\.detail\.scheduledTiming\.repeat\.boundsPeriod$/);
  });
});

/** Suvi's persona Bundle with its CarePlan changed: the element fromFhir names in its refusal. */
function refusal(change: (plan: Json) => void): string {
  const bundle = JSON.parse(
    readFileSync(new URL('../../examples/personas/suvi.json', import.meta.url), 'utf8'),
  );
  change(bundle.entry.find((e: Json) => e.resource.resourceType === 'CarePlan').resource);
  try {
    fromFhir(bundle);
  } catch (e) {
    return (e as { outcome?: Json }).outcome?.issue?.[0]?.expression?.[0] ?? String(e);
  }
  return 'accepted';
}

describe('tyk-rwa-3 (profile) and checkPlanActivities agree: at most 4 days a week in all', () => {
  const social = { service: 'social-work', daysPerWeek: 3 } as Activity;
  // [why, activities, the indexes the rule refuses]
  const cases: Array<[string, Activity[], number[]]> = [
    ['one activity of 4 days', [rwa(4, months(12))], []],
    [
      "Sirpa's 2 + 2 at the same time",
      [rwa(2, period('2025-05-01', '2026-03-14')), rwa(2, period('2025-05-01', '2026-03-14'))],
      [],
    ],
    ['2 + 2 as durations', [rwa(2, months(24)), rwa(2, months(24))], []],
    [
      '4 + 4 at the same time',
      [rwa(4, period('2026-04-01', '2026-09-30')), rwa(4, period('2026-04-01', '2026-09-30'))],
      [0, 1],
    ],
    [
      '4 then 4, one after the other',
      [rwa(4, period('2025-05-01', '2025-12-31')), rwa(4, period('2026-01-01', '2026-06-30'))],
      [],
    ],
    [
      '4 then 4, sharing one day',
      [rwa(4, period('2025-05-01', '2026-01-01')), rwa(4, period('2026-01-01', '2026-06-30'))],
      [1],
    ],
    [
      '3 + 2 where only a duration is known counts as overlapping',
      [rwa(3, period('2025-05-01', '2025-12-31')), rwa(2, months(6))],
      [0, 1],
    ],
    [
      'the middle one meets both, the outer ones not each other: never more than 4 at one time',
      [
        rwa(2, period('2025-01-01', '2025-06-30')),
        rwa(2, period('2025-06-01', '2025-12-31')),
        rwa(2, period('2025-07-01', '2025-12-31')),
      ],
      [],
    ],
    [
      'three at one time from 1 July',
      [
        rwa(2, period('2025-01-01', '2025-12-31')),
        rwa(2, period('2025-06-01', '2025-12-31')),
        rwa(1, period('2025-07-01', '2025-12-31')),
      ],
      [2],
    ],
    [
      'an open period runs on',
      [rwa(3, period('2025-01-01')), rwa(2, period('2026-01-01', '2026-06-30'))],
      [1],
    ],
    ['other services do not count', [rwa(4, months(6)), social], []],
  ];
  it.each(cases)('%s', (_why, activities, refused) => {
    const nodes = activities.map((a) => fhirActivity(a));
    const plan = { resourceType: 'CarePlan', activity: nodes };
    const byProfile = nodes.flatMap((n, i) => (published('tyk-rwa-3', n, plan) ? [] : [i]));
    expect(byProfile).toEqual(refused);
    const byRule = checkPlanActivities(activities);
    expect(byRule.map((v) => v.index)).toEqual(refused);
    for (const v of byRule) expect(v).toMatchObject({ rule: 'tyk-rwa-3', field: 'daysPerWeek' });
  });
  it('fromFhir refuses two overlapping 4-day activities at the activity, as the profile does', () => {
    expect(
      refusal((p) => {
        p.activity[0].detail.scheduledTiming.repeat.frequency = 4;
        p.activity.push(JSON.parse(JSON.stringify(p.activity[0])));
      }),
    ).toMatch(/\.activity\[0\]$/);
  });
});

describe('tyk-ctm-2 (profile) and checkResponsibleWorkers agree on an ended team', () => {
  const ROLE = 'https://tyokyky-fhir.org/fhir/CodeSystem/care-team-role';
  const team = (ended: string | undefined, ends: (string | undefined)[]): ResponsibleWorkerTeam => ({
    id: 't',
    clientId: 'c',
    members: ends.map((end, i) => ({
      professionalId: `p${i}`,
      role: i ? 'doctor' : 'own-worker',
      period: end ? { start: '2025-01-01', end } : { start: '2025-01-01' },
    })),
    ...(ended ? { ended } : {}),
  });
  /** The CareTeam the SDK writes (status, period.end = ended, participants' periods). */
  const careTeam = (t: ResponsibleWorkerTeam, teamEnd: string | null | undefined = t.ended): Json => ({
    resourceType: 'CareTeam',
    status: t.ended ? 'inactive' : 'active',
    period: { start: '2025-01-01', ...(teamEnd ? { end: teamEnd } : {}) },
    participant: t.members.map((m) => ({
      role: [{ coding: [{ system: ROLE, code: m.role }] }],
      period: m.period,
    })),
  });
  const cases: Array<[string, ResponsibleWorkerTeam, boolean]> = [
    ['ended, every period ended by then', team('2026-04-30', ['2026-04-30', '2026-03-31']), true],
    ['ended, one period still open', team('2026-04-30', ['2026-04-30', undefined]), false],
    ['ended, one period ends after the team', team('2026-04-30', ['2026-04-30', '2099-12-31']), false],
  ];
  it.each(cases)('%s', (_why, t, valid) => {
    expect(published('tyk-ctm-2', careTeam(t))).toBe(valid);
    const check = checkResponsibleWorkers(t);
    expect(check.valid).toBe(valid);
    if (!check.valid) expect(check.rule).toBe('tyk-ctm-2');
  });
  it('an inactive CareTeam without period.end is refused by the profile and by fromFhir', () => {
    const t = team('2026-04-30', ['2026-04-30']);
    expect(published('tyk-ctm-2', careTeam(t, null))).toBe(false);
    const bundle = JSON.parse(
      readFileSync(new URL('../../examples/personas/suvi.json', import.meta.url), 'utf8'),
    );
    const ct = bundle.entry.find((e: Json) => e.resource.resourceType === 'CareTeam').resource;
    ct.status = 'inactive';
    for (const p of ct.participant) p.period.end ??= '2026-02-28';
    expect(() => fromFhir(bundle)).toThrow(/tyk-ctm-2: an inactive team carries the day it ended/);
  });
});
