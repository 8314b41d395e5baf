// Stored data the reader does not hold whole — written through /fhir (or pulled by the sync) and valid
// for the profiles — still reads back in the domain API's GET views: the view leaves the element out
// and says so in `warnings` (OperationOutcome issues naming the element), rather than failing the read
// (src/server/domain/read-back.ts, fromFhir's `unheld`, src/mapping/unheld.ts).
import type { Bundle, CarePlan, CareTeam, Goal, Resource } from '@medplum/fhirtypes';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import { canonical, toFhir } from '../../src/mapping/index.ts';
import { ReadBack } from '../../src/server/domain/read-back.ts';
import { FhirError } from '../../src/shared/outcome.ts';
import { appPerSuite } from './helpers.ts';

const suite = appPerSuite();

/** The resource of `profile` in `bundle` and its index. */
function entry<T extends Resource>(bundle: Bundle, profile: string): T {
  return bundle.entry!.find(
    (e) => e.resource!.meta?.profile?.[0] === `${canonical}/StructureDefinition/${profile}`,
  )!.resource as T;
}

const LEFT_OUT =
  'has no domain field: read back without it, the object does not say all the resource says (docs/sdk.md)';

beforeAll(async () => {
  // Suvi's record as another system wrote it: a goal target measuring something, an activity on dates.
  // (A modifier extension the profiles do not define is refused by the validator on the way in.)
  const bundle = toFhir(suvi);
  const goal = entry<Goal>(bundle, 'tyokyky-goal');
  goal.target = [{ measure: { text: 'mittari-xq7' }, dueDate: goal.target?.[0]?.dueDate ?? '2026-06-30' }];
  entry<CarePlan>(bundle, 'tyokyky-support-plan').activity![0]!.detail!.scheduledTiming!.event = [
    '2026-04-07',
  ];
  // A team under rules the reader does not know: readable in a view, not a base for a handover.
  entry<CareTeam>(bundle, 'tyokyky-responsible-worker-team').implicitRules =
    'https://ehr.vendor.example/rules/teams';
  const tx = await request(suite.app)
    .post('/fhir')
    .set('Content-Type', 'application/fhir+json')
    .send(JSON.stringify(bundle));
  expect(tx.status, JSON.stringify(tx.body)).toBe(200);
});

/** A warning of the view about `at`, which the domain object leaves out. */
const warning = (at: string, what: string) => ({
  severity: 'warning',
  code: 'not-supported',
  diagnostics: `${at}: ${what} ${LEFT_OUT}`,
  expression: [at],
  location: [at],
});

describe('GET views of stored data the domain does not hold whole', () => {
  it('/plan: 200 with the plan, read without what the domain does not hold', async () => {
    const res = await request(suite.app).get('/api/clients/suvi/plan');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.plan).toEqual(suvi.plans!.find((p) => p.status === 'active'));
    expect(res.text).not.toContain('mittari-xq7');
  });

  it('/plan: its warnings name each element the plan leaves out', async () => {
    const res = await request(suite.app).get('/api/clients/suvi/plan');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.warnings).toEqual([
      warning(
        'CarePlan.activity[0].detail.scheduledTiming.event[0]',
        "an activity's dates (Timing.event; the domain's schedule is days a week between bounds)",
      ),
      warning('CarePlan.goal[0].target[0].measure', 'what a goal target measures (measure)'),
    ]);
  });

  it('a view read whole carries no warnings', async () => {
    for (const view of ['consents', 'responsible-worker']) {
      const res = await request(suite.app).get(`/api/clients/suvi/${view}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body, view).not.toHaveProperty('warnings');
    }
  });
});

describe('ReadBack: warnings for a view, a refusal when strict (a write made from what it reads)', () => {
  const EVENT = 'CarePlan.activity[0].detail.scheduledTiming.event[0]';
  const MEASURE = 'CarePlan.goal[0].target[0].measure';

  async function storedPlan(): Promise<Resource> {
    const found = await suite.fx.store.search('CarePlan', { status: 'active', _count: '1' });
    return found.resources[0]!;
  }

  it('reads the plan and answers with a warning per element left out, once however many rounds it took', async () => {
    const readBack = new ReadBack(suite.fx.store);
    expect(readBack.answer({ x: 1 })).toEqual({ x: 1 });
    const plan = await readBack.domainOf(await storedPlan());
    expect(plan).toEqual(suvi.plans!.find((p) => p.status === 'active'));
    expect(readBack.warnings.map((w) => w.expression?.[0])).toEqual([EVENT, MEASURE]);
    expect(readBack.answer({ plan })).toEqual({ plan, warnings: readBack.warnings });
  });

  it('unheldIn: the warnings of the resource itself, not of the targets it refers to; none kept', async () => {
    const readBack = new ReadBack(suite.fx.store);
    const unheld = await readBack.unheldIn(await storedPlan());
    expect(unheld.map((w) => w.expression?.[0])).toEqual([EVENT]);
    expect(readBack.warnings).toEqual([]);
  });

  it('strict: the 422 fromFhir gives input, naming the first element', async () => {
    const strict = new ReadBack(suite.fx.store, [], { strict: true });
    const err = await strict.domainOf(await storedPlan()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FhirError);
    expect((err as FhirError).status).toBe(422);
    expect((err as FhirError).outcome.issue?.[0]?.expression).toEqual([EVENT]);
    expect(strict.warnings).toEqual([]);
  });
});

describe('a write made from stored data reads it strictly', () => {
  it('the responsible-worker view reads a team under unknown implicitRules; a handover from it is 422', async () => {
    const view = await request(suite.app).get('/api/clients/suvi/responsible-worker');
    expect(view.status, JSON.stringify(view.body)).toBe(200);
    const handover = await request(suite.app)
      .post('/api/clients/suvi/responsible-worker')
      .send({ professionalId: 'sw-nieminen', role: 'kuntakokeilu-coach', date: '2027-01-10' });
    expect(handover.status, JSON.stringify(handover.body)).toBe(422);
    expect(handover.body.issue[0].expression).toEqual(['CareTeam.implicitRules']);
    const history = await request(suite.app).get('/api/clients/suvi/responsible-worker');
    expect(history.body.team).toEqual(view.body.team);
  });
});
