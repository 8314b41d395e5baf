import type { Consent, Resource } from '@medplum/fhirtypes';
import { finnishDay } from '../../domain/index.ts';
import { patientReferenceOf } from '../../shared/references.ts';
import { DEFAULT_FAMILIES, clientDisclosure, sdkDisclosureRule } from '../../sync/index.ts';

export interface Disclosure {
  permitted: boolean;
  consentId?: string;
}

type ConsentReader = {
  search(type: string, params: Record<string, string>): Promise<{ resources: Resource[] }>;
};

/**
 * The types that are nobody's client data (directories and definitions, in either mode): open to every
 * party. Every other type holds client data — a consent family's type as its client's consent
 * permits, any other (Kanta PHR's MedicationAdministration…) not at all — so a type added later is
 * closed to parties until it is placed.
 */
const NOBODYS_DATA = new Set([
  'Organization',
  'Practitioner',
  'PractitionerRole',
  'Questionnaire',
  'ValueSet',
  'StructureDefinition',
  'CodeSystem',
]);

/** Whether resources of `type` may hold a client's data (a party's reads and conditional writes of it are judged). */
export function holdsClientData(type: string): boolean {
  return !NOBODYS_DATA.has(type);
}

/**
 * Whether a receiving party may see `resource` today: the same families, data classes and consent
 * rule (`isDisclosurePermitted` through the sync's `sdkDisclosureRule`) that decide what the sync
 * pushes to a party (`clientDisclosure`: the client's identification first, then the family's data
 * class). Resources that are nobody's client data (NOBODYS_DATA) are open; client data outside the
 * families, or whose client cannot be read off it, is closed. The client is read off a relative
 * reference, or an absolute one under `ownBase` (this server's base, as Kanta PHR mode stores them).
 * Consents are looked up once per client within one `DisclosureCheck`.
 */
export class DisclosureCheck {
  private readonly consents = new Map<string, Promise<Consent[]>>();

  constructor(
    private readonly reader: ConsentReader,
    private readonly party: string,
    private readonly ownBase?: string,
    private readonly today = finnishDay(),
  ) {}

  async check(resource: Resource): Promise<Disclosure> {
    const family = DEFAULT_FAMILIES[resource.resourceType];
    const patient = patientReferenceOf(resource, this.ownBase);
    if (!family) return { permitted: !holdsClientData(resource.resourceType) && patient === undefined };
    if (!patient) return { permitted: false };
    const consents = await this.consentsOf(patient);
    const decision = await clientDisclosure(
      (dataClass) => {
        const d = sdkDisclosureRule(consents, this.party, dataClass, this.today);
        return {
          permitted: d.permitted,
          reason: d.reason,
          consents: d.permitted && d.consentId ? [d.consentId] : [],
        };
      },
      resource,
      family.dataClass,
    );
    return decision.permitted
      ? { permitted: true, consentId: decision.consents.at(-1) }
      : { permitted: false };
  }

  private consentsOf(patient: string): Promise<Consent[]> {
    let found = this.consents.get(patient);
    if (!found) {
      found = this.reader
        .search('Consent', { patient, _count: '1000' })
        .then((r) => r.resources as Consent[]);
      this.consents.set(patient, found);
    }
    return found;
  }
}
