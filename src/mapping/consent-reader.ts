/**
 * A FHIR Consent of our profile → the terms the disclosure rule (`isDisclosurePermitted`) reads:
 * receiving parties, data classes, period and withdrawal. Unlike `fromFhir`, it needs nothing the rule
 * does not look at (the client, the recording organisation), so a consent whose other references point
 * elsewhere can still be read for disclosure.
 */
import type { Consent } from '@medplum/fhirtypes';
import {
  type ConsentDataClass,
  type ConsentParty,
  type ConsentTerms,
  finnishDay,
  finnishDayOf,
} from '../domain/index.ts';
import { FhirError, issue } from '../shared/outcome.ts';
import { MAP } from './config.ts';
import { codeFrom } from './terminology.ts';

function unreadable(expression: string, message: string): never {
  throw FhirError.unprocessable([issue('error', 'invalid', message, expression)]);
}

/**
 * The disclosure terms of `consent`; a consent that is neither active nor withdrawn (`inactive` with
 * its withdrawal date, rule tyk-con-1), or that lacks a party, data class or start date, is refused
 * with an error naming the element.
 */
export function consentForDisclosure(consent: Consent): ConsentTerms {
  const p = 'Consent.provision';
  const id = consent.id ? `Consent/${consent.id}` : 'Consent';
  const withdrawn = consent.extension?.find(
    (e) => e.url === MAP.extensions.consentWithdrawalDate,
  )?.valueDateTime;
  if (consent.status === 'inactive' && !withdrawn) {
    unreadable(
      'Consent.extension',
      'tyk-con-1: an inactive (withdrawn) consent needs the consent-withdrawal-date extension',
    );
  }
  if (consent.status !== 'active' && consent.status !== 'inactive') {
    unreadable('Consent.status', `a consent in status '${consent.status}' is neither in force nor withdrawn`);
  }
  const parties = (consent.provision?.actor ?? []).map((a, i) => {
    const ext = a.extension?.find((e) => e.url === MAP.extensions.consentReceivingParty);
    return (
      codeFrom(ext?.valueCodeableConcept, MAP.codedFields.consentParty!) ??
      unreadable(`${p}.actor[${i}].extension`, `no code from CodeSystem ${MAP.codedFields.consentParty}`)
    );
  }) as ConsentParty[];
  const dataClasses = (consent.provision?.code ?? []).map(
    (cc, i) =>
      codeFrom(cc, MAP.codedFields.dataClass!) ??
      unreadable(`${p}.code[${i}]`, `no code from CodeSystem ${MAP.codedFields.dataClass}`),
  ) as ConsentDataClass[];
  const start =
    finnishDayOf(consent.provision?.period?.start) ?? unreadable(`${p}.period.start`, 'is required');
  const end = finnishDayOf(consent.provision?.period?.end);
  return {
    id,
    parties,
    dataClasses,
    period: end ? { start, end } : { start },
    ...(withdrawn ? { withdrawnOn: finnishDay(withdrawn) } : {}),
  };
}
