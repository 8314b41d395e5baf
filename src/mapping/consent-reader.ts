/**
 * A FHIR Consent of our profile → the terms the disclosure rule (`isDisclosurePermitted`) reads:
 * receiving parties, data classes, period and withdrawal. Unlike `fromFhir`, it needs nothing the rule
 * does not look at (the client, the recording organisation), so a consent whose other references point
 * elsewhere can still be read for disclosure.
 */
import type { CodeableConcept, Consent } from '@medplum/fhirtypes';
import {
  type ConsentDataClass,
  type ConsentParty,
  type ConsentTerms,
  calendarDay,
  finnishDayOf,
  withdrawalNotYetMade,
  withdrawalUndone,
} from '../domain/index.ts';
import { FhirError, issue } from '../shared/outcome.ts';
import { MAP } from './config.ts';
import { codeText } from './quote.ts';
import { extensionName, secondIndex, secondOne } from './repeats.ts';
import { codeFrom } from './terminology.ts';
import { unheldElement } from './unheld.ts';
import { wellFormed } from './well-formed.ts';

function unreadable(expression: string, message: string): never {
  throw FhirError.unprocessable([issue('error', 'invalid', message, expression)]);
}

/**
 * Elements that would narrow a permit in ways the disclosure rule does not read (an exception, a list
 * of resources, a period of the data, labels, purposes, resource types). The rule reads parties, data
 * classes and the period, so such a consent is not read at all rather than read wider than it is
 * (tyk-con-3 states the same in the profile).
 */
const NARROWING = ['provision', 'data', 'dataPeriod', 'securityLabel', 'purpose', 'class'] as const;

const CONSENT_ACTION = 'http://terminology.hl7.org/CodeSystem/consentaction';

/**
 * A permit's actions: absent (the SDK writes none) permits every action, so disclosure too; a list
 * permits only what it names, so it must name disclosure for the rule to read it as a disclosure permit.
 */
function permitsDisclosure(action: unknown): boolean {
  if (!present(action)) return true;
  return (action as CodeableConcept[]).some((cc) =>
    cc?.coding?.some((c) => c?.system === CONSENT_ACTION && c.code === 'disclose'),
  );
}

/**
 * Why `consent` cannot be read as the client gave it: the element (relative to the Consent) and the
 * rule, or undefined. Shared by `fromFhir` and the disclosure reader.
 */
export function consentDefect(consent: Consent): { element: string; message: string } | undefined {
  return unheldElement('consent', consent) ?? consentRuleDefect(consent);
}

/**
 * `consentDefect` but for what the reader does not read a resource with (unheld.ts): the consent's own
 * rules, which stand for stored data read back too.
 */
export function consentRuleDefect(consent: Consent): { element: string; message: string } | undefined {
  // Repeats the profile allows once: a second withdrawal date, a second receiving party of one actor.
  const again = secondIndex(consent.extension, isWithdrawal);
  if (again >= 0)
    return {
      element: `extension[${again}]`,
      message: secondOne(extensionName(MAP.extensions.consentWithdrawalDate)),
    };
  // The day of withdrawal in any other element (valueDate, valueString) would be read as no withdrawal.
  const at = (consent.extension ?? []).findIndex(isWithdrawal);
  if (at >= 0 && withdrawalDay(consent) === undefined)
    return {
      element: `extension[${at}].valueDateTime`,
      message:
        "tyk-con-1: a withdrawn consent carries its day of withdrawal in the consent-withdrawal-date extension's valueDateTime (a date or dateTime)",
    };
  for (const [a, actor] of (consent.provision?.actor ?? []).entries()) {
    const party = secondIndex(actor?.extension, (e) => e?.url === MAP.extensions.consentReceivingParty);
    if (party >= 0)
      return {
        element: `provision.actor[${a}].extension[${party}]`,
        message: secondOne(extensionName(MAP.extensions.consentReceivingParty)),
      };
  }
  const withdrawn = at >= 0;
  if (consent.status === 'inactive' && !withdrawn)
    return {
      element: 'extension',
      message: 'tyk-con-1: an inactive (withdrawn) consent needs the consent-withdrawal-date extension',
    };
  if (withdrawn && consent.status !== 'inactive')
    return {
      element: 'status',
      message: 'tyk-con-1: a consent with a consent-withdrawal-date is withdrawn, so its status is inactive',
    };
  if (consent.status !== 'active' && consent.status !== 'inactive')
    return {
      element: 'status',
      message: `a consent in status '${codeText(consent.status)}' is neither in force nor withdrawn`,
    };
  const provision = consent.provision as Record<string, unknown> | undefined;
  if (provision?.type !== undefined && provision.type !== 'permit')
    return { element: 'provision.type', message: 'tyk-con-3: the provision is a permit' };
  if (!permitsDisclosure(provision?.action))
    return {
      element: 'provision.action',
      message: `tyk-con-3: a permit listing actions names disclosure (${CONSENT_ACTION}#disclose), or the disclosure rule cannot read it`,
    };
  const narrowing = NARROWING.find((name) => present(provision?.[name]));
  if (narrowing)
    return {
      element: `provision.${narrowing}`,
      message:
        'tyk-con-3: the disclosure rule reads the permit alone (parties, data classes, period); record a limit as a new version of the consent',
    };
  return undefined;
}

const isWithdrawal = (e: { url: string }) => e.url === MAP.extensions.consentWithdrawalDate;

/**
 * The Finnish day of the consent's withdrawal (its consent-withdrawal-date's `valueDateTime`), or
 * undefined: none, or one that is no date or dateTime (which `consentDefect` refuses). The one reading
 * of the withdrawal date, for `fromFhir` and `consentForDisclosure`.
 */
export function withdrawalDay(consent: Consent): string | undefined {
  const value: unknown = consent.extension?.find(isWithdrawal)?.valueDateTime;
  return typeof value === 'string' ? calendarDay(value) : undefined;
}

/**
 * `consent-withdrawal-final` (`withdrawalUndone`) for `next`, a new version of the stored consent
 * `stored`: the element of `next` (relative to the Consent) and the rule, or undefined when it keeps
 * the withdrawal as recorded.
 */
export function withdrawalChanged(
  stored: Consent,
  next: Consent,
): { element: string; message: string } | undefined {
  const why = withdrawalUndone(withdrawalDay(stored), withdrawalDay(next));
  if (why === undefined) return undefined;
  const at = (next.extension ?? []).findIndex(isWithdrawal);
  return {
    element: at >= 0 ? `extension[${at}].valueDateTime` : 'status',
    message: `consent-withdrawal-final: ${why}`,
  };
}

const present = (value: unknown) => value !== undefined && !(Array.isArray(value) && value.length === 0);

/**
 * The disclosure terms of `consent`; a consent that is neither active nor withdrawn (`inactive` with
 * its withdrawal date, a date in `valueDateTime`, and only then, rule tyk-con-1), withdrawn on a day
 * still to come (`consent-withdrawn`, as `fromFhir` refuses it), whose actions leave out disclosure or
 * that narrows its permit in ways the rule does not read (tyk-con-3), that carries a modifier the
 * reader does not understand, or that lacks a party, data class or start date, is refused with an
 * error naming the element; JSON that is not well-formed FHIR where it is read, naming the Consent.
 */
export function consentForDisclosure(consent: Consent): ConsentTerms {
  return wellFormed('Consent', 'Consent', () => readTerms(consent));
}

function readTerms(consent: Consent): ConsentTerms {
  const p = 'Consent.provision';
  const id = consent.id ? `Consent/${consent.id}` : 'Consent';
  const defect = consentDefect(consent);
  if (defect) unreadable(`Consent.${defect.element}`, defect.message);
  const withdrawnOn = withdrawalDay(consent);
  // A withdrawal is something done, so not after today; fromFhir refuses the same (consent-withdrawn).
  const notYet = withdrawnOn === undefined ? undefined : withdrawalNotYetMade(withdrawnOn);
  if (notYet)
    unreadable(
      `Consent.extension('${MAP.extensions.consentWithdrawalDate}')`,
      `consent-withdrawn: ${notYet}`,
    );
  const parties = (consent.provision?.actor ?? []).map((a, i) => {
    const ext = a.extension?.find((e) => e.url === MAP.extensions.consentReceivingParty);
    return (
      codeFrom(ext?.valueCodeableConcept, MAP.codedFields.consentParty!) ??
      unreadable(`${p}.actor[${i}].extension`, `no code from CodeSystem ${MAP.codedFields.consentParty}`)
    );
  }) as ConsentParty[];
  if (!parties.length) unreadable(`${p}.actor`, 'is required: a consent names at least one receiving party');
  const dataClasses = (consent.provision?.code ?? []).map(
    (cc, i) =>
      codeFrom(cc, MAP.codedFields.dataClass!) ??
      unreadable(`${p}.code[${i}]`, `no code from CodeSystem ${MAP.codedFields.dataClass}`),
  ) as ConsentDataClass[];
  if (!dataClasses.length) unreadable(`${p}.code`, 'is required: a consent names at least one data class');
  const start =
    finnishDayOf(consent.provision?.period?.start) ?? unreadable(`${p}.period.start`, 'is required');
  const end = finnishDayOf(consent.provision?.period?.end);
  // The day it was given: it discloses nothing before (consentNotInForce).
  const date = finnishDayOf(consent.dateTime);
  return {
    id,
    parties,
    dataClasses,
    period: end ? { start, end } : { start },
    ...(date ? { date } : {}),
    ...(withdrawnOn ? { withdrawnOn } : {}),
  };
}
