import { randomUUID } from 'node:crypto';
import type { Consent, Observation, Patient, QuestionnaireResponse, Resource } from '@medplum/fhirtypes';

const CANONICAL = 'https://tyokyky-fhir.org/fhir';
const narrative = (text: string) => ({
  status: 'generated' as const,
  div: `<div xmlns="http://www.w3.org/1999/xhtml">${text}</div>`,
});
/** Kanta PHR's creating-application extension (allowed on Observation, QuestionnaireResponse, CarePlan). */
const creatingApp = [
  {
    url: 'http://phr.kanta.fi/StructureDefinition/fiphr-ext-creatingapplication',
    extension: [
      { url: 'name', valueString: 'tyokyky-sync-tests' },
      { url: 'applicationId', valueString: 'tyokyky-sync-tests' },
    ],
  },
];

export function businessId(): { system: string; value: string } {
  return { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${randomUUID()}` };
}

export function patient(hetu = '010181-900C'): Patient {
  return {
    resourceType: 'Patient',
    language: 'fi',
    text: narrative('Suvi Testaaja'),
    identifier: [businessId(), { system: 'urn:oid:1.2.246.21', value: hetu }],
    name: [{ family: 'Testaaja', given: ['Suvi'] }],
    birthDate: '1981-01-01',
  };
}

export function consent(
  patientId: string,
  opts: { parties?: string[]; dataClasses?: string[]; status?: Consent['status']; start?: string } = {},
): Consent {
  return {
    resourceType: 'Consent',
    meta: { profile: [`${CANONICAL}/StructureDefinition/tyokyky-consent`] },
    language: 'fi',
    text: narrative('Suostumus tietojen luovutukseen'),
    identifier: [businessId()],
    status: opts.status ?? 'active',
    scope: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patientId}` },
    dateTime: opts.start ?? '2026-01-01',
    organization: [
      { identifier: { system: 'urn:oid:1.2.246.10.1234567', value: 'sote-keskus' }, display: 'Sote-keskus' },
    ],
    policy: [{ uri: 'https://www.finlex.fi/fi/laki/alkup/2023/20230703' }],
    provision: {
      type: 'permit',
      period: { start: opts.start ?? '2026-01-01' },
      // As the SDK maps it: the receiving party in an extension on each actor, data classes as codes.
      actor: (opts.parties ?? ['other-health-care']).map((code) => ({
        extension: [
          {
            url: `${CANONICAL}/StructureDefinition/consent-receiving-party`,
            valueCodeableConcept: { coding: [{ system: `${CANONICAL}/CodeSystem/consent-party`, code }] },
          },
        ],
        role: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }],
        },
        reference: { display: code },
      })),
      code: (opts.dataClasses ?? ['identification', 'work-ability-assessment', 'support-plan']).map(
        (code) => ({
          coding: [{ system: `${CANONICAL}/CodeSystem/consent-data-class`, code }],
        }),
      ),
    },
  };
}

export function score(patientId: string, value = 6): Observation {
  return {
    resourceType: 'Observation',
    language: 'fi',
    text: narrative(`Työkykypistemäärä ${value}`),
    extension: creatingApp,
    identifier: [businessId()],
    status: 'final',
    code: {
      coding: [{ system: `${CANONICAL}/CodeSystem/work-ability-observation`, code: 'work-ability-score' }],
    },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: '2026-03-01',
    valueInteger: value,
  };
}

export function selfAssessment(patientId: string): QuestionnaireResponse {
  return {
    resourceType: 'QuestionnaireResponse',
    language: 'fi',
    text: narrative('Kykyviisari'),
    extension: creatingApp,
    identifier: businessId(),
    status: 'completed',
    subject: { reference: `Patient/${patientId}` },
    authored: '2026-03-02',
    item: [{ linkId: 'work-ability', answer: [{ valueInteger: 7 }] }],
  };
}

const WITHDRAWAL = `${CANONICAL}/StructureDefinition/consent-withdrawal-date`;

/** `c` withdrawn: inactive, with the withdrawal date `tyk-con-1` asks for. */
export function withdrawn(c: Consent, on = '2026-05-31'): Consent {
  const others = (c.extension ?? []).filter((e) => e.url !== WITHDRAWAL);
  return { ...c, status: 'inactive', extension: [...others, { url: WITHDRAWAL, valueDateTime: on }] };
}

/** `c` given again: active, without a withdrawal date. */
export function givenAgain(c: Consent): Consent {
  const { extension, ...rest } = c;
  const others = (extension ?? []).filter((e) => e.url !== WITHDRAWAL);
  return { ...rest, status: 'active', ...(others.length ? { extension: others } : {}) };
}

/** A resource's business identifier (`urn:ietf:rfc:3986`, else its first), whether a list or one. */
export const identifierOf = (r: Resource): string | undefined => {
  const raw = (
    r as { identifier?: { system?: string; value?: string }[] | { system?: string; value?: string } }
  ).identifier;
  const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return (list.find((i) => i.system === 'urn:ietf:rfc:3986') ?? list[0])?.value;
};

/** The copies on a remote of a local resource, found by its business identifier. */
export function remoteCopiesOf(baseUrl: string, r: Resource): Promise<Resource[]> {
  const q = `identifier=${encodeURIComponent(`urn:ietf:rfc:3986|${identifierOf(r)}`)}`;
  return remoteAll(baseUrl, r.resourceType, q);
}

/** The one copy of `local` on the remote (by its business identifier); an error when there is none. */
export async function remoteCopy<T extends Resource>(baseUrl: string, local: T): Promise<T> {
  const [there] = await remoteCopiesOf(baseUrl, local);
  if (!there) throw new Error(`${local.resourceType} is not on the remote`);
  return there as T;
}

/** Every resource of `type` on a Medplum peer or facade, via plain HTTP search. */
export async function remoteAll(baseUrl: string, type: string, query = ''): Promise<Resource[]> {
  const out: Resource[] = [];
  let next: string | undefined = `${baseUrl}/${type}?_count=1000${query ? `&${query}` : ''}`;
  while (next) {
    const res = await fetch(next, { headers: { accept: 'application/fhir+json' } });
    const bundle = (await res.json()) as {
      entry?: { resource: Resource }[];
      link?: { relation: string; url: string }[];
    };
    out.push(...(bundle.entry ?? []).map((e) => e.resource));
    next = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  return out;
}

/** A Goal of the client's support plan that addresses an observation (Goal → Observation → Patient). */
export function goal(patientId: string, observationId: string, description = 'Paluu työelämään'): Resource {
  return {
    resourceType: 'Goal',
    language: 'fi',
    text: narrative(description),
    identifier: [businessId()],
    lifecycleStatus: 'active',
    description: { text: description },
    subject: { reference: `Patient/${patientId}` },
    addresses: [{ reference: `Observation/${observationId}` }],
  } as Resource;
}

/** A support plan with its goal and the observation behind it (CarePlan → Goal, Observation). */
export function linkedPlan(
  patientId: string,
  goalId: string,
  observationId: string,
  title = 'Suunnitelma',
): Resource {
  return {
    ...carePlan(patientId, title),
    goal: [{ reference: `Goal/${goalId}` }],
    supportingInfo: [{ reference: `Observation/${observationId}` }],
  } as Resource;
}

export function carePlan(patientId: string, title = 'Työkyvyn tuen suunnitelma'): Resource {
  return {
    resourceType: 'CarePlan',
    language: 'fi',
    text: narrative(title),
    extension: creatingApp,
    identifier: [businessId()],
    status: 'active',
    intent: 'plan',
    title,
    subject: { reference: `Patient/${patientId}` },
  } as Resource;
}

/** Plain HTTP write to a remote (what another system — or the client in Omakanta — does). */
export async function remotePut<T extends Resource>(baseUrl: string, resource: T): Promise<T> {
  const version = resource.meta?.versionId;
  const res = await fetch(`${baseUrl}/${resource.resourceType}/${resource.id}`, {
    method: 'PUT',
    headers: {
      'content-type': 'application/fhir+json',
      accept: 'application/fhir+json',
      ...(version ? { 'if-match': `W/"${version}"` } : {}),
    },
    body: JSON.stringify(resource),
  });
  if (!res.ok)
    throw new Error(`PUT ${resource.resourceType}/${resource.id} → ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

export async function remotePost<T extends Resource>(baseUrl: string, resource: T): Promise<T> {
  const res = await fetch(`${baseUrl}/${resource.resourceType}`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
    body: JSON.stringify(resource),
  });
  if (!res.ok) throw new Error(`POST ${resource.resourceType} → ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}
