import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { DomainValidationError, type SupportPlan, checkClientActivities } from '../../domain/index.ts';
import { fullUrl } from '../../mapping/index.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import type { StoreWrites } from '../ports.ts';
import { businessIdOf, clientPatient, ofPatient } from './client-data.ts';
import { ReadBack } from './read-back.ts';

/** A plan being written, and the domain path that names it (`SupportPlan`, `WorkAbilityRecord.plans[1]`). */
export interface PlanAt {
  plan: SupportPlan;
  at: string;
}

/** A stored plan of the client's, read back, that the write does not replace. */
interface StoredPlan {
  plan: SupportPlan;
  /** How a refusal names it: `stored plan "<its domain id>"`. */
  name: string;
}

/**
 * `tyk-rwa-3` across the client's plans, the stored ones too (`checkClientActivities`, the rule's one
 * home): what a record's plans meet together (`validateRecord`), a plan sent alone meets with the
 * client's stored active plans, and a record's plans with the stored ones it does not hold. A plan
 * sent replaces its stored version (matched by business identifier, as `writeAll` matches it). Only
 * an excess this write makes is refused: a 400 naming the sent plan's field
 * (`SupportPlan.activities[0].daysPerWeek`) and the stored plans counted by their ids. The domain API's
 * one home of this check (`writeAll`, in the transaction of the write, under the client's lock).
 */
export async function assertClientActivities(store: StoreWrites, plans: readonly PlanAt[]): Promise<void> {
  const clients = new Set(plans.filter((p) => p.plan.status === 'active').map((p) => p.plan.clientId));
  const issues: OperationOutcomeIssue[] = [];
  for (const clientId of clients) {
    const sent = plans.filter((p) => p.plan.clientId === clientId);
    const stored = await storedPlans(store, clientId, new Set(sent.map((p) => fullUrl('plan', p.plan.id))));
    if (stored.length) issues.push(...excess(sent, stored));
  }
  if (issues.length) throw new DomainValidationError(issues);
}

/** What `sent` and `stored` exceed together that `stored` did not alone, told as the sent fields. */
function excess(sent: readonly PlanAt[], stored: readonly StoredPlan[]): OperationOutcomeIssue[] {
  const pathOf = (plan: number, index: number) =>
    plan < sent.length
      ? `${sent[plan]!.at}.activities[${index}]`
      : `${stored[plan - sent.length]!.name}.activities[${index}]`;
  const before = new Set(
    checkClientActivities(
      stored.map((s) => s.plan),
      () => '',
    ).map((v) => `${v.plan + sent.length}|${v.index}`),
  );
  const out = new Map<string, OperationOutcomeIssue>();
  for (const v of checkClientActivities([...sent.map((s) => s.plan), ...stored.map((s) => s.plan)], pathOf)) {
    if (v.plan < sent.length) {
      const field = `${pathOf(v.plan, v.index)}.${v.field}`;
      if (!out.has(field)) out.set(field, told(field, v.rule, v.reason));
      continue;
    }
    if (before.has(`${v.plan}|${v.index}`)) continue; // the stored plans' own excess, not this write's
    // Counted on the day a stored activity starts: named as the sent activities running then.
    const named = sent.flatMap((s, plan) =>
      s.plan.activities.flatMap((_, index) => {
        const path = pathOf(plan, index);
        return v.reason.includes(`${path},`) || v.reason.includes(`${path})`) ? [path] : [];
      }),
    );
    for (const path of named) {
      const field = `${path}.${v.field}`;
      if (!out.has(field))
        out.set(field, told(field, v.rule, `${v.reason}; this one: ${pathOf(v.plan, v.index)}`));
    }
  }
  return [...out.values()];
}

/** As the domain's rules tell a refusal: `<rule>: <field>: <reason>`, at the field. */
function told(field: string, rule: string, reason: string): OperationOutcomeIssue {
  return issue('error', 'invariant', `${rule}: ${field}: ${reason}`, field);
}

/**
 * The client's stored active plans but those whose business identifier is in `replaced`, read back as
 * domain objects through the caller's store (a stored plan that does not map is not counted).
 */
async function storedPlans(
  store: StoreWrites,
  clientId: string,
  replaced: Set<string>,
): Promise<StoredPlan[]> {
  const patient = await clientPatient(store, clientId);
  if (!patient) return []; // the write fails on its reference to the client, or creates the client
  const active = await ofPatient(store, patient, 'CarePlan', { status: 'active', _count: '1000' });
  const others = active.filter((r) => !replaced.has(businessIdOf(r) ?? ''));
  const readBack = new ReadBack(store, [patient]);
  const read = await Promise.all(
    others.map((r: Resource) =>
      readBack.domainOf(r).then(
        (plan) => ({ plan: plan as SupportPlan, name: `stored plan "${(plan as SupportPlan).id}"` }),
        (err: unknown) => {
          if (err instanceof FhirError) return undefined;
          throw err;
        },
      ),
    ),
  );
  return read.filter((p) => p !== undefined);
}
