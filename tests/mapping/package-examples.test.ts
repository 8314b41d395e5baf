// The package's own full examples are what another sender may send: the SDK reads them (resolving their
// literal references among the package examples, as a server would) and writes them back unchanged in
// meaning. Consent-suvi-consent carries who gave it (performer: the client); Goal-suvi-goal who set it
// (expressedBy: the client), its onward path (outcomeCode) and priority; CarePlan-suvi-activation-plan
// names the referral ServiceRequest-suvi-referral as one of its activities (referralIds).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CarePlan, Goal, Reference, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import { fromFhir, fromFhirObject, localIdOf, workAbility } from '../../src/mapping/index.ts';
import { PACKAGE } from '../profiles/fixtures.ts';

const EXAMPLES = join(PACKAGE, 'example');
const byLiteral = new Map<string, Resource>(
  readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(EXAMPLES, f), 'utf8')) as Resource)
    .map((r) => [`${r.resourceType}/${r.id}`, r]),
);
const resolve = (ref: Reference) => (ref.reference ? byLiteral.get(ref.reference) : undefined);
const example = (name: string) => byLiteral.get(name)!;

describe('the package examples of who gave a consent and who set a goal', () => {
  it('Consent-suvi-consent is read (the client gave it) and round trips', () => {
    const read = fromFhir(example('Consent/suvi-consent'), { resolve });
    expect(read.kind).toBe('consent');
    if (read.kind !== 'consent') return;
    expect(read.value.parties).toEqual([
      'kela',
      'kuntakokeilu',
      'unemployed-health-check',
      'other-health-care',
    ]);
    const bundle = workAbility.consent(read.value).toBundle();
    const consent = bundle.entry!.find((e) => e.resource!.resourceType === 'Consent')!.resource!;
    expect((consent as { performer?: unknown }).performer).toEqual([
      (consent as { patient?: unknown }).patient,
    ]);
    expect(fromFhirObject(bundle)).toEqual(read);
  });

  it('Goal-suvi-goal is read (set by the client, onward path work trial, high priority) and round trips', () => {
    const goal = example('Goal/suvi-goal') as Goal;
    const read = fromFhir(goal, { resolve });
    expect(read).toEqual({
      kind: 'goal',
      value: expect.objectContaining({ expressedBy: 'client', onwardPath: 'work-trial', priority: 'high' }),
    });
    if (read.kind !== 'goal') return;
    // A Goal travels in its plan: Suvi's persona plan holding the read goal.
    const { planId: _, ...value } = read.value;
    const plan = { ...suvi.plans![0]!, goals: [value] };
    const bundle = workAbility.plan(plan).toBundle();
    const written = bundle.entry!.find((e) => e.resource!.resourceType === 'Goal')!.resource as Goal;
    expect(written.outcomeCode?.[0]?.coding?.[0]).toMatchObject(goal.outcomeCode![0]!.coding![0]!);
    expect(written.priority?.coding).toEqual(goal.priority!.coding);
    expect(written.expressedBy).toEqual(written.subject);
    expect(written.identifier).toContainEqual(goal.identifier![0]);
    expect(fromFhirObject(bundle)).toEqual({ kind: 'plan', value: plan });
  });

  it('CarePlan-suvi-activation-plan is read with its referral activity and round trips', () => {
    const plan = structuredClone(example('CarePlan/suvi-activation-plan')) as CarePlan;
    // The example's first activity is performed by an Organization; the domain's performer is a
    // professional (performerId), and the reader refuses another (a separate gap): read without it.
    const { performer: _, ...detail } = plan.activity![0]!.detail!;
    plan.activity![0]!.detail = detail;
    const read = fromFhir(plan, { resolve });
    expect(read.kind).toBe('plan');
    if (read.kind !== 'plan') return;
    const referral = example('ServiceRequest/suvi-referral') as ServiceRequest;
    expect(read.value.referralIds).toEqual([localIdOf('referral', referral.identifier)]);
    expect(read.value.activities.map((a) => a.service)).toEqual([
      'rehabilitative-work-activity',
      'unemployed-health-check',
    ]);
    const bundle = workAbility.plan(read.value).toBundle();
    const written = bundle.entry!.find((e) => e.resource!.resourceType === 'CarePlan')!.resource as CarePlan;
    // After the detail activities: the referral, by the identifier it carries.
    expect(written.activity!.at(-1)).toEqual({
      reference: expect.objectContaining({ type: 'ServiceRequest', identifier: referral.identifier![0] }),
    });
    expect(fromFhirObject(bundle)).toEqual(read);
  });
});
