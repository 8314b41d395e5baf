// Rules on what a new version changes, which no single version shows (a withdrawn consent stays
// withdrawn). The facade gives them to the store for every update it makes (UpdateOptions.assertChange);
// the sync asks them before a remote version replaces a local one.
import type { Consent, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { FhirError, issue } from '../shared/outcome.ts';
import { withdrawalChanged } from './consent-reader.ts';

type ChangeCheck = (stored: Resource, next: Resource) => OperationOutcomeIssue | undefined;

/** `consent-withdrawal-final`: the issue naming the new version's element. */
function consentChange(stored: Resource, next: Resource): OperationOutcomeIssue | undefined {
  const refused = withdrawalChanged(stored as Consent, next as Consent);
  return refused && issue('error', 'conflict', refused.message, `Consent.${refused.element}`);
}

const CHANGE_CHECKS: Readonly<Partial<Record<string, ChangeCheck>>> = { Consent: consentChange };

/** Why `next` may not replace `stored` (the rule and the element), or undefined when it may. */
export function changeRefusal(stored: Resource, next: Resource): OperationOutcomeIssue | undefined {
  return CHANGE_CHECKS[next.resourceType]?.(stored, next);
}

/**
 * The type's change rule as `UpdateOptions.assertChange` (a 409 naming the element; nothing is
 * written), or undefined for a type without one.
 */
export function changeRuleOf(type: string): ((stored: Resource, next: Resource) => void) | undefined {
  const check = CHANGE_CHECKS[type];
  if (!check) return undefined;
  return (stored, next) => {
    const refused = check(stored, next);
    if (refused) throw new FhirError(409, refused);
  };
}
