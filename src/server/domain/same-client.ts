import type { Reference, Resource } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../shared/outcome.ts';
import type { StoreWrites } from '../ports.ts';
import { type DomainSource, fieldsNaming } from './fields.ts';

/** The element naming whose a resource is: a Consent's patient, every other type's subject. */
const clientElement = (type: string) => (type === 'Consent' ? 'patient' : 'subject');

/**
 * `same-client`: a new version of a stored object (found by business identifier) stays its client's.
 * Moving an assessment, plan or consent to another client would rewrite whose the stored data is (and
 * its history): 409, nothing written, naming the domain field when the object was sent alone
 * (`Assessment.clientId`), else the element. As `tyk-id-2` for a Patient, no one is quoted.
 */
export async function assertSameClientOf(
  store: StoreWrites,
  incoming: Resource,
  stored: Resource,
  source?: DomainSource,
): Promise<void> {
  const element = clientElement(incoming.resourceType);
  const mine = (incoming as unknown as Record<string, Reference | undefined>)[element];
  const theirs = (stored as unknown as Record<string, Reference | undefined>)[element];
  if (!mine || !theirs || (await samePatient(store, mine, theirs))) return;
  const fields = source ? fieldsNaming(source, mine) : [];
  const where = fields.length ? fields : [`${incoming.resourceType}.${element}`];
  throw new FhirError(
    409,
    issue(
      'error',
      'conflict',
      `same-client: ${where.join(', ')}: the business identifier matches ${stored.resourceType}/${stored.id}, which is another client's: a new version may not move it to another client (its data would land in that client's record)`,
      where,
    ),
  );
}

/**
 * Whether two references name one Patient: by the identifier both carry (the SDK's local client id),
 * else (a stored reference written through /fhir, with another identifier or none) by finding the
 * incoming one's Patient and comparing it with the stored literal reference.
 */
async function samePatient(store: StoreWrites, mine: Reference, theirs: Reference): Promise<boolean> {
  const a = mine.identifier;
  const b = theirs.identifier;
  if (!a?.system || !a.value) return mine.reference === theirs.reference;
  if (b?.system === a.system) return b.value === a.value;
  const [[found]] = await store.findByIdentifiers('Patient', [{ system: a.system, value: a.value }]);
  return found !== undefined && theirs.reference === `Patient/${found.id}`;
}
