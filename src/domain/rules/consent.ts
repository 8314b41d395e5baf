/** *Tietojen luovutus suostumuksella* — may a party receive a class of data on a date? */
import type { ConsentDataClass, ConsentParty } from '../codes.ts';
import type { Consent } from '../types.ts';
import { dayArgument, finnishDay } from './calendar.ts';

export interface DisclosureDecision {
  permitted: boolean;
  reason: string;
  /** The consent that permits it, or — when refused — the nearest consent that did not. */
  consentId?: string;
}

/**
 * What the disclosure rule reads from a consent: who may receive which classes, when (the day it was
 * given, `date`, and its period), and withdrawal. `date` is optional for terms read from elsewhere
 * without it; without it the period alone says from when.
 */
export type ConsentTerms = Pick<Consent, 'id' | 'parties' | 'dataClasses' | 'period' | 'withdrawnOn'> &
  Partial<Pick<Consent, 'date'>>;

/** `${day} is in the future; …`: a `done` thing (given, withdrawn) happens on or before today in Finland. */
function stillToCome(day: string, done: string): string | undefined {
  return day > finnishDay() ? `${day} is in the future; a consent is ${done} on or before today` : undefined;
}

/**
 * Why `withdrawnOn` cannot be recorded, or `undefined` when it can: a withdrawal is something the
 * client has done, so its day is not after today in Finland. A consent recorded as withdrawn on a day
 * still to come would read as withdrawn in FHIR (status inactive) while this rule still permits.
 */
export function withdrawalNotYetMade(withdrawnOn: string): string | undefined {
  return stillToCome(withdrawnOn, 'withdrawn');
}

/**
 * `consent-withdrawal-final`: why a new version of a consent cannot replace `before`, or `undefined`
 * when it can. A withdrawal is the client's act and part of the consent's history: once recorded, a
 * later version keeps it as it was (no undoing it, no other day). A client who agrees again gives a new
 * consent. The days are not quoted: the message travels in errors.
 */
export function withdrawalUndone(before: string | undefined, after: string | undefined): string | undefined {
  if (before === undefined || after === before) return undefined;
  return after === undefined
    ? 'the consent was withdrawn, and a withdrawal stays recorded: a client who agrees again gives a new consent'
    : 'the consent was withdrawn on another day, and a withdrawal stays as recorded: a client who agrees again gives a new consent';
}

/**
 * Why `Consent.date` cannot be recorded (rule `consent-given`), or `undefined` when it can: the client
 * gives a consent on a day, so that day is not after today in Finland — as a withdrawal is not.
 */
export function consentNotYetGiven(date: string): string | undefined {
  return stillToCome(date, 'given');
}

/**
 * Why the consent is not in force on `day` (withdrawn on or before it, not yet given, not yet begun,
 * expired), or `undefined` when it is. It is in force from the later of the day it was given
 * (`Consent.date`: a consent discloses nothing before it was given, whatever its period says) and its
 * period's start. A Date or a zoned dateTime counts as its day in Finland.
 */
export function consentNotInForce(
  c: Pick<ConsentTerms, 'id' | 'period' | 'withdrawnOn' | 'date'>,
  date: string | Date,
): string | undefined {
  const day = dayArgument(date, 'date');
  if (c.withdrawnOn !== undefined && c.withdrawnOn <= day)
    return `consent ${c.id} was withdrawn on ${c.withdrawnOn}`;
  if (c.date !== undefined && day < c.date && c.date > c.period.start)
    return `consent ${c.id} was given on ${c.date} (Consent.date); it disclosed nothing before that day`;
  if (day < c.period.start) return `consent ${c.id} is valid only from ${c.period.start}`;
  if (c.period.end !== undefined && day > c.period.end) return `consent ${c.id} expired on ${c.period.end}`;
  return undefined;
}

/** Why this consent does not permit the disclosure, or `undefined` when it does. */
function refusal(
  c: ConsentTerms,
  party: ConsentParty,
  dataClass: ConsentDataClass,
  day: string,
): string | undefined {
  const inForce = consentNotInForce(c, day);
  if (inForce) return inForce;
  if (!c.parties.includes(party)) return `consent ${c.id} does not name party '${party}'`;
  if (!c.dataClasses.includes(dataClass)) return `consent ${c.id} does not cover data class '${dataClass}'`;
  return undefined;
}

/**
 * Is `party` permitted to receive `dataClass` on `date` under any of the client's consents? A consent
 * permits when it names the party and the data class, the date is within its period and not before the
 * consent was given (`consentNotInForce`), and it had not
 * been withdrawn by that date (a Date or a zoned dateTime counts as its day in Finland,
 * `finnishDay`). Without a permitting consent the answer is no.
 */
export function isDisclosurePermitted(
  consents: readonly ConsentTerms[],
  party: ConsentParty,
  dataClass: ConsentDataClass,
  date: string | Date,
): DisclosureDecision {
  const day = dayArgument(date, 'date');
  if (consents.length === 0) return { permitted: false, reason: 'no consent recorded' };
  const refusals: string[] = [];
  for (const c of consents) {
    const why = refusal(c, party, dataClass, day);
    if (why === undefined) {
      return {
        permitted: true,
        reason: `consent ${c.id} permits '${party}' to receive '${dataClass}' on ${day}`,
        consentId: c.id,
      };
    }
    refusals.push(why);
  }
  // Report the consent that came closest: the one naming both party and class, if any (refusal()
  // looks at the dates first, so a consent refused for its dates may still name neither).
  const names = (c: ConsentTerms) => c.parties.includes(party) && c.dataClasses.includes(dataClass);
  const nearest = consents.find(names) ?? consents[0]!;
  return { permitted: false, reason: refusals.join('; '), consentId: nearest.id };
}
