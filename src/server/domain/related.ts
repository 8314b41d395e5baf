import type { Consent, PractitionerRole, Reference, Resource } from '@medplum/fhirtypes';
import {
  type DomainKind,
  type DomainTypes,
  GLOBAL_IDENTIFIER_SYSTEM,
  KIND_LABEL,
  type Link,
  type RelatedObjects,
  linksOf,
  validateDomain,
} from '../../domain/index.ts';
import {
  type FhirKind,
  type FoundRelated,
  fullUrl,
  localIdOf,
  relatedFromFhir,
} from '../../mapping/index.ts';
import { FhirError } from '../../shared/outcome.ts';
import { relativeReference } from '../../shared/references.ts';
import type { FacadeStore } from '../ports.ts';
import { clientPatient } from './client-data.ts';

/** The resource type each read link names (professionals and what belongs to a client). */
const READ: Partial<Record<DomainKind, string>> = {
  professional: 'PractitionerRole',
  consent: 'Consent',
  assessment: 'Observation',
  selfAssessment: 'QuestionnaireResponse',
  team: 'CareTeam',
  referral: 'ServiceRequest',
};

/**
 * The objects outside a domain object sent alone that its rules read and its mapping names
 * (`RelatedObjects`), from the caller's store, found by the business identifiers the transaction's
 * conditional references resolve them by: what it names of its client's (a consent, assessment,
 * self-assessment, team, referral) with whose each is, a referral's consent terms, professionals' roles and
 * names, and for a consent its stored version's receiving organisations. Held to these, an object
 * alone meets the rules and becomes the resources it would in a record. One not found (or not
 * readable by the caller) is left out: the write then fails on its reference; so is whose each is
 * when the object's own client is not found (the write fails on that).
 */
export async function relatedFromStore<K extends DomainKind>(
  store: FacadeStore,
  kind: K,
  value: unknown,
): Promise<RelatedObjects> {
  // The shape first: a malformed object is a 400 naming its field before the store is asked.
  const object: DomainTypes[K] = validateDomain(kind, value);
  const clientId = (object as { clientId?: string }).clientId;
  const links = unique(linksOf(kind, object).filter((l) => READ[l.target]));
  const [patient, stored, ...found] = await Promise.all([
    clientId === undefined ? undefined : clientPatient(store, clientId),
    kind === 'consent' ? byBusinessId<Consent>(store, 'Consent', fullUrl('consent', object.id)) : undefined,
    ...links.map((l) => byBusinessId(store, READ[l.target]!, fullUrl(l.target as FhirKind, l.id))),
  ]);
  const owner = (resource: Resource) =>
    patient && clientId !== undefined ? ownerOf(resource, `Patient/${patient.id}`, clientId) : undefined;
  const of = <T extends Resource>(target: DomainKind): FoundRelated<T>[] =>
    links.flatMap((l, i) => {
      const resource = found[i] as T | undefined;
      if (l.target !== target || !resource) return [];
      const whose = owner(resource);
      return [
        {
          id: l.id,
          resource,
          field: `${KIND_LABEL[kind]}.${l.field}`,
          ...(whose ? { clientId: whose } : {}),
        },
      ];
    });
  const actors = stored ? await actorTargets(store, stored) : new Map<string, Resource>();
  const related: RelatedObjects = relatedFromFhir({
    consents: of<Consent>('consent'),
    professionals: of<PractitionerRole>('professional'),
    ...(stored ? { actorsOf: stored, resolve: (ref) => actors.get(ref.reference ?? '') } : {}),
  });
  const ofClient = (target: DomainKind) =>
    of(target).flatMap((f) => (f.clientId === undefined ? [] : [{ id: f.id, clientId: f.clientId }]));
  return {
    ...related,
    assessments: ofClient('assessment'),
    selfAssessments: ofClient('selfAssessment'),
    teams: ofClient('team'),
    referrals: ofClient('referral'),
  };
}

/**
 * The Organizations a stored consent's actors refer to without naming a domain id (another sender's
 * local id), by reference, as the caller may read them: what tells their domain ids.
 */
async function actorTargets(store: FacadeStore, consent: Consent): Promise<Map<string, Resource>> {
  const refs = (consent.provision?.actor ?? []).flatMap((a) => {
    const ref = a.reference;
    const named = ref?.identifier && localIdOf('organization', [ref.identifier]);
    const target = named === undefined ? relativeReference(ref?.reference ?? '') : undefined;
    return target?.type === 'Organization' && target.version === undefined ? [target.id] : [];
  });
  const found = await Promise.all(
    [...new Set(refs)].map((id) =>
      store.read('Organization', id).then(
        (r) => [`Organization/${id}`, r] as const,
        (err: unknown) => {
          // Missing, deleted or withheld from this caller: the actor names no organisation.
          if (err instanceof FhirError && [403, 404, 410].includes(err.status)) return undefined;
          throw err;
        },
      ),
    ),
  );
  return new Map(found.filter((f) => f !== undefined));
}

/** Each (kind, id) once. */
function unique(links: Link[]): Link[] {
  const seen = new Set<string>();
  return links.filter((l) => !seen.has(`${l.target}|${l.id}`) && seen.add(`${l.target}|${l.id}`));
}

/**
 * Whose `resource` is: `clientId` when its subject (a Consent's patient) is the client's Patient;
 * otherwise a key that is not `clientId` (the domain id its reference's identifier names — a local id
 * or a carried one, `localIdOf` — else the literal reference), so the `reference` rule tells it apart
 * without anyone's id being quoted.
 */
function ownerOf(resource: Resource, patient: string, clientId: string): string {
  const subject =
    (resource as { patient?: Reference; subject?: Reference }).patient ??
    (resource as { subject?: Reference }).subject;
  if (subject?.reference === patient) return clientId;
  const local = subject?.identifier && localIdOf('client', [subject.identifier]);
  return local !== undefined && local !== clientId ? local : (subject?.reference ?? 'Patient/?');
}

/** The one current resource of `type` with this business identifier, as the caller may read it. */
async function byBusinessId<T extends Resource>(
  store: FacadeStore,
  type: string,
  value: string,
): Promise<T | undefined> {
  const found = await store.search(type, { identifier: `${GLOBAL_IDENTIFIER_SYSTEM}|${value}`, _count: '2' });
  return found.resources.length === 1 ? (found.resources[0] as T) : undefined;
}
