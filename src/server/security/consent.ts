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
 * Whether a receiving party may see `resource` today: the same families, data classes and consent
 * rule (`isDisclosurePermitted` through the sync's `sdkDisclosureRule`) that decide what the sync
 * pushes to a party (`clientDisclosure`: the client's identification first, then the family's data
 * class). Resources that are nobody's client data (organisations, questionnaires…) are open; client
 * data outside the families, or naming no client, is closed.
 * Consents are looked up once per client within one `DisclosureCheck`.
 */
export class DisclosureCheck {
  private readonly consents = new Map<string, Promise<Consent[]>>();

  constructor(
    private readonly reader: ConsentReader,
    private readonly party: string,
    private readonly today = finnishDay(),
  ) {}

  async check(resource: Resource): Promise<Disclosure> {
    const family = DEFAULT_FAMILIES[resource.resourceType];
    const patient = patientReferenceOf(resource);
    if (!family) return { permitted: patient === undefined };
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
