// A batch answers 200 whatever its entries did, so the front's audit of a failed request never sees a
// failed entry: the batch handler reports each one through the request's own store
// (`auditFailedEntry`), whose guard writes it here.
import { FhirError, ruleOf } from '../../shared/outcome.ts';
import type { FailedEntry } from '../ports.ts';
import { type Guard, actionOf, auditedRefusals, record } from './guard-context.ts';

/**
 * Audits a batch's failed entry as the guard's caller's (outcome 4, or 8 for a 5xx), naming the entry,
 * its status and the rule its answer names, never the answer's text (it may quote what was sent). An
 * entry the guard already audited (its refusal names what was refused) is not audited again.
 */
export async function auditFailedEntry(g: Guard, entry: FailedEntry): Promise<void> {
  const { error } = entry;
  if (error instanceof FhirError && auditedRefusals.has(error)) return;
  const status = error instanceof FhirError ? error.status : 500;
  const first = error instanceof FhirError ? error.outcome.issue?.[0] : undefined;
  const rule = first && ruleOf(first);
  await g.refusal(
    record(g.p, {
      interaction: entry.interaction,
      action: actionOf(entry.interaction),
      outcome: status >= 500 ? '8' : '4',
      detail: `entry ${entry.index} answered ${status}${rule ? ` (${rule})` : ''}`,
      entities: entry.entity ? [entry.entity] : [],
      patients: [],
    }),
  );
}
