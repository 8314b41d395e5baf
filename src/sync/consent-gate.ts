import type { Consent, Resource } from '@medplum/fhirtypes';

export interface DisclosureDecision {
  permitted: boolean;
  reason: string;
  consentId?: string;
}

/** Decides whether `consents` permit disclosing `dataClass` to `party` on `date` (YYYY-MM-DD). */
export type DisclosureRule = (
  consents: Consent[],
  party: string,
  dataClass: string,
  date: string,
) => DisclosureDecision;

const PARTY_SYSTEM_SUFFIX = '/CodeSystem/consent-party';
const CLASS_SYSTEM_SUFFIX = '/CodeSystem/consent-data-class';

function codesIn(value: unknown, systemSuffix: string, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) codesIn(v, systemSuffix, out);
  else if (value && typeof value === 'object') {
    const o = value as { system?: unknown; code?: unknown };
    if (typeof o.system === 'string' && o.system.endsWith(systemSuffix) && typeof o.code === 'string')
      out.add(o.code);
    for (const v of Object.values(value)) codesIn(v, systemSuffix, out);
  }
  return out;
}

function withinPeriod(period: { start?: string; end?: string } | undefined, date: string): boolean {
  if (!period) return true;
  if (period.start && period.start.slice(0, 10) > date) return false;
  if (period.end && period.end.slice(0, 10) < date) return false;
  return true;
}

/**
 * FHIR-level reading of the consent rule: an active permit Consent whose provision names the party
 * (consent-party code) and the data class (consent-data-class code) and whose period covers the
 * date. A withdrawn (inactive/rejected) consent never permits.
 */
export const fhirDisclosureRule: DisclosureRule = (consents, party, dataClass, date) => {
  let withdrawn: Consent | undefined;
  for (const c of consents) {
    const p = c.provision;
    const covers =
      codesIn(p, PARTY_SYSTEM_SUFFIX).has(party) && codesIn(p, CLASS_SYSTEM_SUFFIX).has(dataClass);
    if (!covers) continue;
    if (c.status !== 'active') {
      withdrawn ??= c;
      continue;
    }
    if ((p?.type ?? 'permit') !== 'permit' || !withinPeriod(p?.period, date)) continue;
    if (c.dateTime && c.dateTime.slice(0, 10) > date) continue;
    return { permitted: true, reason: `Consent/${c.id} permits ${dataClass} to ${party}`, consentId: c.id };
  }
  if (withdrawn) {
    return {
      permitted: false,
      reason: `consent Consent/${withdrawn.id} covering ${dataClass} to ${party} is ${withdrawn.status} (withdrawn)`,
      consentId: withdrawn.id,
    };
  }
  return { permitted: false, reason: `no active consent permits ${dataClass} to ${party} on ${date}` };
};

export function isConsent(r: Resource): r is Consent {
  return r.resourceType === 'Consent';
}
