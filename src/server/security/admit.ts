// What a caller may ask for, judged on its Need (access.ts) before anything is looked up: its scopes,
// and what a receiving party is refused whatever its scopes. The front judges each request and Bundle
// entry by it; the guard judges by it what a handler asks of the store (a create that matches on a
// business identifier).
import { FhirError, issue } from '../../shared/outcome.ts';
import { DEFAULT_FAMILIES } from '../../sync/index.ts';
import type { Need } from './access.ts';
import { holdsClientData } from './consent.ts';
import type { Principal } from './context.ts';
import { allows } from './scopes.ts';

/** The families the domain API reads and writes. */
const DOMAIN_TYPES = [...Object.keys(DEFAULT_FAMILIES), 'Organization', 'PractitionerRole', 'Practitioner'];

/** Whether `p`'s scopes permit what the request needs (a Bundle's entries are checked one by one). */
export function permitted(p: Principal, need: Need): boolean {
  if (p.unrestricted) return true;
  if (need.kind === 'fhir') return need.perms.every((perm) => allows(p.scopes, need.type, perm));
  if (need.kind === 'operator') return p.syncOperator === true;
  if (need.kind === 'audit')
    return (
      (need.method === 'GET' || need.method === 'HEAD') &&
      allows(p.scopes, 'AuditEvent', 'r') &&
      allows(p.scopes, 'AuditEvent', 's')
    );
  if (need.kind === 'domain')
    return (
      DOMAIN_TYPES.every((t) => need.perms.every((perm) => allows(p.scopes, t, perm))) &&
      (!need.audit || (allows(p.scopes, 'AuditEvent', 'r') && allows(p.scopes, 'AuditEvent', 's')))
    );
  return true;
}

/**
 * Why a receiving party may not read the audit log (nor a client's disclosure log, read off it),
 * whatever its scopes: its events name every client here, those withheld from the party too, and
 * every search with its query (HETUs). `addClient` refuses to register a party for it in these words.
 */
export function auditRefusalText(party: string): string {
  return `sec-consent-8: a receiving party (${party}) cannot read the audit log: its events name every client and every search`;
}

/**
 * What a receiving party is refused whatever its scopes (403): the sync's operator surface, whose
 * rows name every client's resources; the audit log and the disclosure logs read off it
 * (`auditRefusalText`); and writing client data conditionally (If-None-Exist, a
 * conditional update, a create that must hold its business identifiers alone), which answers one
 * way when a match exists and another when none does — and the match may be data the party's consent
 * does not show. Refused before anything is looked up, so the answer is the same whatever exists.
 */
export function partyRefusal(p: Principal, need: Need, expression?: string): FhirError | undefined {
  if (!p.party) return undefined;
  const refuse = (text: string) => new FhirError(403, issue('error', 'forbidden', text, expression));
  if (need.kind === 'operator')
    return refuse(
      `sec-consent-7: a receiving party (${p.party}) cannot use the sync API: its rows name every client's resources`,
    );
  if (need.kind === 'audit' || (need.kind === 'domain' && need.audit))
    return refuse(auditRefusalText(p.party));
  if (need.kind === 'fhir' && need.conditional && holdsClientData(need.type))
    return refuse(
      `sec-consent-6: a receiving party (${p.party}) cannot write client data conditionally (If-None-Exist, a conditional update, a create whose business identifier must be new): whether a match exists may be data its consent does not show`,
    );
  // Every domain API write finds what it writes by business identifier first (a HETU, for a client).
  if (need.kind === 'domain' && need.perms.includes('c'))
    return refuse(
      `sec-consent-6: a receiving party (${p.party}) cannot write through the domain API: each write first finds its records by business identifier, and whether one exists may be data its consent does not show`,
    );
  return undefined;
}
