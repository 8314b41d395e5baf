// The guarded store's read members, one named handler each: consent for a receiving party,
// turvakielto redaction, and an audit row written before the answer is returned.
import type { Resource } from '@medplum/fhirtypes';
import { hasNonDisclosure, redactNonDisclosed, redactPatient } from '../../mapping/index.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import {
  type HistoryEntry,
  type ReferenceTarget,
  type SearchOptions,
  type StoredJson,
  chainedTypes,
  requireTargets,
} from '../../store/index.ts';
import type { StoreWrites } from '../ports.ts';
import { entryNeed } from './access.ts';
import { partyRefusal } from './admit.ts';
import { holdsClientData } from './consent.ts';
import type { Principal } from './context.ts';
import {
  type Guard,
  TURVAKIELTO,
  auditRefusal,
  checked,
  checkedMatch,
  consentRefs,
  disclosureCheck,
  hideMissing,
  patientOf,
  patientOfJson,
  refuseAudited,
  succeeded,
  withheld,
} from './guard-context.ts';
import { keepPartyCursor, partyCursor } from './party-cursor.ts';
import { type Permission, allows } from './scopes.ts';

type SearchParams = Record<string, string | string[] | undefined>;
type SearchJsonResult = Awaited<ReturnType<StoreWrites['searchJson']>>;

/**
 * What lets a caller's request read a resource of a type through the guard: read permission, or an
 * update or delete of that type, which reads its own target first (If-Match, `$validate` with
 * mode=delete; a patch, which answers with what it read, needs read permission as well: access.ts).
 */
const READS_TYPE: readonly Permission[] = ['r', 'u', 'd'];

/**
 * The guard's own check of the type a store call names: one of `perms` on it, else an audited 403
 * `sec-scope-1: <needs>`. The front has checked the route's type; this holds for whatever a handler
 * asks of the store, so one that reaches another type directly is refused too. Checked before the
 * store is asked: the refusal is the same whether the resource exists or not.
 */
async function admitType(
  g: Guard,
  type: string,
  perms: readonly Permission[],
  audited: { interaction: string; entity: string },
  needs: string,
): Promise<void> {
  const { p } = g;
  if (p.unrestricted || perms.some((perm) => allows(p.scopes, type, perm))) return;
  const refusal = new FhirError(403, issue('error', 'forbidden', `sec-scope-1: ${needs}`));
  await auditRefusal(g, audited.interaction, audited.entity, [], refusal);
}

/** A read of `type`: read permission, or an update or delete of it (READS_TYPE). */
function admitRead(g: Guard, interaction: string, type: string, entity: string): Promise<void> {
  return admitType(
    g,
    type,
    READS_TYPE,
    { interaction, entity },
    `reading ${type} needs read permission on ${type}`,
  );
}

/**
 * A read's failure, audited before it reaches the caller: a refusal (403: `auditRefusal`), and a
 * missing or deleted resource (404, 410: for a party `hideMissing` made it a refusal already), naming
 * what was not found. The front writes no second row for the request (`refusalsAudited`).
 */
async function auditFailedRead(g: Guard, interaction: string, entity: string, err: unknown): Promise<never> {
  if (err instanceof FhirError && (err.status === 404 || err.status === 410))
    await refuseAudited(g, interaction, entity, [], err);
  return auditRefusal(g, interaction, entity, [], err);
}

/** read and vread: the resource as the caller may see it. */
export async function readOne<T extends Resource>(
  g: Guard,
  interaction: string,
  type: string,
  id: string,
  load: () => Promise<T>,
): Promise<T> {
  const entity = `${type}/${id}`;
  await admitRead(g, interaction, type, entity);
  const raw = await hideMissing(g, type, id, load).catch((e) => auditFailedRead(g, interaction, entity, e));
  // A party's vread: the newest version decides too, as for the history (one restricted now, or
  // about a client whose data it may not see now, is shown in no version).
  if (interaction === 'vread' && g.p.party) {
    const newest = await lastContent(g, type, id);
    if (newest && newest.meta?.versionId !== raw.meta?.versionId)
      await checked(g, newest).catch((e) =>
        auditRefusal(g, interaction, entity, patientOf(newest, g.p.base), e),
      );
  }
  const { resource, consentId } = await checked(g, raw).catch((e) =>
    auditRefusal(g, interaction, entity, patientOf(raw, g.p.base), e),
  );
  await g.audit([
    succeeded(g, interaction, 'R', [entity], patientOf(raw, g.p.base), {
      consents: consentRefs([consentId]),
    }),
  ]);
  // An older version of a client who has turvakielto now: redacted as the current one is.
  if (interaction === 'vread' && !g.p.turvakielto && raw.resourceType === 'Patient' && !hasNonDisclosure(raw))
    if ((await labelledNow(g, [id])).has(id)) return redactPatient(resource);
  return resource;
}

/**
 * The newest version of `type/id` that has content: the current one, or for a deleted resource the
 * last before its deletion (its content is what the deletion left in the history). Undefined when none.
 */
async function lastContent(g: Guard, type: string, id: string): Promise<Resource | undefined> {
  try {
    return await g.base.read(type, id);
  } catch (err) {
    if (!(err instanceof FhirError) || (err.status !== 404 && err.status !== 410)) throw err;
    if (err.status === 404) return undefined;
  }
  return (await g.base.history(type, id)).find((v) => v.resource)?.resource;
}

/**
 * Which of the Patients `ids` are under turvakielto now: their newest version carries the label (the
 * current one, or a deleted Patient's last: `lastContent`). Every version of theirs is shown redacted
 * (a label added later protects the address an earlier version still holds, and a deletion does not
 * lift it).
 */
async function labelledNow(g: Guard, ids: Iterable<string>): Promise<Set<string>> {
  const out = new Set<string>();
  for (const id of new Set(ids)) {
    const newest = await lastContent(g, 'Patient', id);
    if (newest && hasNonDisclosure(newest)) out.add(id);
  }
  return out;
}

/** History entries as a caller without the turvakielto scope may see them: per Patient, all or none redacted. */
async function redactedHistory<E extends HistoryEntry>(g: Guard, entries: E[]): Promise<E[]> {
  const patients = entries.filter((e) => e.resource?.resourceType === 'Patient');
  if (!patients.length) return entries;
  const idOf = (e: E) => e.resource?.id as string;
  const labelled = new Set(patients.filter((e) => hasNonDisclosure(e.resource as Resource)).map(idOf));
  // The others are read as they are now: a label added after these versions protects them too.
  for (const id of await labelledNow(
    g,
    patients.map(idOf).filter((id) => !labelled.has(id)),
  ))
    labelled.add(id);
  return entries.map((e) =>
    e.resource?.resourceType === 'Patient' && labelled.has(e.resource.id as string)
      ? { ...e, resource: redactPatient(e.resource) }
      : e,
  );
}

/**
 * read as stored text. The common case (no party, nothing to redact) serves the stored text as it is;
 * only a party's read or a turvakielto Patient shown redacted is parsed.
 */
export async function readJson(g: Guard, type: string, id: string): Promise<StoredJson> {
  const { p } = g;
  const entity = `${type}/${id}`;
  await admitRead(g, 'read', type, entity);
  const stored = await hideMissing(g, type, id, () => g.base.readJson(type, id)).catch((e) =>
    auditFailedRead(g, 'read', entity, e),
  );
  if (!p.party && (p.turvakielto || type !== 'Patient' || !stored.json.includes(TURVAKIELTO))) {
    await g.audit([succeeded(g, 'read', 'R', [entity], patientOfJson(type, id, stored.json, p.base))]);
    return stored;
  }
  const raw = JSON.parse(stored.json) as Resource;
  const { resource, consentId } = await checked(g, raw).catch((e) =>
    auditRefusal(g, 'read', entity, patientOf(raw, g.p.base), e),
  );
  await g.audit([
    succeeded(g, 'read', 'R', [`${type}/${id}`], patientOf(raw, g.p.base), {
      consents: consentRefs([consentId]),
    }),
  ]);
  return { ...stored, json: resource === raw ? stored.json : JSON.stringify(resource) };
}

/** The matches a party may see (and the consents that let it), in order. */
async function partyMatches(
  g: Guard,
  party: string,
  ids: string[],
  json: string[],
): Promise<{ ids: string[]; json: string[]; consents: string[] }> {
  const check = disclosureCheck(g, party);
  const decisions = await Promise.all(json.map((text) => check.check(JSON.parse(text) as Resource)));
  return {
    ids: ids.filter((_, i) => decisions[i]?.permitted),
    json: json.filter((_, i) => decisions[i]?.permitted),
    consents: consentRefs(decisions.map((d) => d.consentId)),
  };
}

type Included = NonNullable<SearchJsonResult['included']>;

/**
 * `_include`/`_revinclude` results under the rules the matches obey: read permission on each one's
 * type (an Observation-only client gets no Patient through `_include`), a party's consent, and
 * turvakielto redaction. Returns what may be shown and the consents that let a party see it.
 */
async function visibleIncluded(
  g: Guard,
  included: Included,
): Promise<{ included: Included; consents: string[] }> {
  const { p } = g;
  let shown = p.unrestricted ? included : included.filter((inc) => allows(p.scopes, inc.type, 'r'));
  let consents: string[] = [];
  if (p.party && shown.length) {
    const check = disclosureCheck(g, p.party);
    const decisions = await Promise.all(shown.map((inc) => check.check(JSON.parse(inc.json) as Resource)));
    shown = shown.filter((_, i) => decisions[i]?.permitted);
    consents = consentRefs(decisions.map((d) => d.consentId));
  }
  if (!p.turvakielto) {
    shown = shown.map((inc) =>
      inc.type === 'Patient' && inc.json.includes(TURVAKIELTO)
        ? { ...inc, json: JSON.stringify(redactNonDisclosed(JSON.parse(inc.json))) }
        : inc,
    );
  }
  return { included: shown, consents };
}

/** How many further pages a party's search reads to fill a page with what it may see, and to look past it. */
const PARTY_FILL_ROUNDS = 10;

/** How many matches a round that looks past a party's page reads at least. */
const PARTY_LOOK_AHEAD = 50;

/**
 * A party's page: the matches it may see, topped up from the following pages (keyset cursor) until
 * the page is full or the results end, so that a short or empty page with a next link does not tell
 * that withheld matches exist. Each top-up asks for just the missing count, so nothing is skipped.
 * The next link is given only when a match it may see follows (`visibleAhead`): matches withheld
 * from it alone never make one.
 */
async function partyPage(
  g: Guard,
  party: string,
  type: string,
  params: SearchParams,
  opts: SearchOptions | undefined,
  first: SearchJsonResult,
) {
  const page = await partyMatches(g, party, first.ids, first.json);
  let last = first;
  let round = 0;
  for (; round < PARTY_FILL_ROUNDS && page.ids.length < first.count && last.nextCursor; round++) {
    last = await g.base.searchJson(
      type,
      {
        ...params,
        _cursor: last.nextCursor,
        _count: String(first.count - page.ids.length),
        _offset: undefined,
        _total: undefined,
      },
      opts,
    );
    const more = await partyMatches(g, party, last.ids, last.json);
    page.ids.push(...more.ids);
    page.json.push(...more.json);
    page.consents = [...new Set([...page.consents, ...more.consents])];
  }
  const ahead = { rounds: PARTY_FILL_ROUNDS - round, count: Math.max(first.count, PARTY_LOOK_AHEAD) };
  const next =
    last.nextCursor && (await visibleAhead(g, party, type, params, opts, last.nextCursor, ahead))
      ? last.nextCursor
      : undefined;
  const { nextCursor: _next, included: _included, ...rest } = first;
  const result: SearchJsonResult = {
    ...rest,
    ...(next ? { nextCursor: await keepPartyCursor(g.base, g.p.clientId, next) } : {}),
  };
  return { result, ...page };
}

/**
 * Whether a match `party` may see follows `cursor`, read in at most `rounds` pages of `count` (the
 * fill's bound, what it left of it): its next link is given only then, so the link does not depend on
 * withheld matches (with `identifier=<one it sees>,<a HETU>&_count=1`, a next link to an empty page
 * would tell that the HETU is a client here). When the rounds run out with matches still following it
 * cannot tell, and the link is given, as a page the fill could not complete has one.
 */
async function visibleAhead(
  g: Guard,
  party: string,
  type: string,
  params: SearchParams,
  opts: SearchOptions | undefined,
  cursor: string,
  { rounds, count }: { rounds: number; count: number },
): Promise<boolean> {
  const check = disclosureCheck(g, party);
  // What follows is only looked at: not what the matches include.
  const matchesOnly = includesApart(params).matches;
  let after: string | undefined = cursor;
  for (let round = 0; round < rounds && after; round++) {
    const following: SearchJsonResult = await g.base.searchJson(
      type,
      { ...matchesOnly, _cursor: after, _count: String(count), _offset: undefined, _total: undefined },
      opts,
    );
    for (const text of following.json)
      if ((await check.check(JSON.parse(text) as Resource)).permitted) return true;
    after = following.nextCursor;
  }
  return after !== undefined;
}

/** A search's `_include`/`_revinclude` parameters (any modifier) apart from those that find the matches. */
function includesApart(params: SearchParams): { matches: SearchParams; includes: SearchParams } {
  const isInclude = (k: string) => ['_include', '_revinclude'].includes(k.split(':')[0] as string);
  const entries = Object.entries(params);
  return {
    matches: Object.fromEntries(entries.filter(([k]) => !isInclude(k))),
    includes: Object.fromEntries(entries.filter(([k]) => isInclude(k))),
  };
}

/**
 * What the matches a party may see include: the includes run again from those matches alone (by
 * `_id`), never from a withheld one, whose included resources would tell that it exists and what it
 * names even where each of them may be shown.
 */
async function includedFrom(
  g: Guard,
  type: string,
  ids: string[],
  includes: SearchParams,
  opts: SearchOptions | undefined,
): Promise<Included | undefined> {
  if (!ids.length || !Object.keys(includes).length) return undefined;
  const from = { _id: ids.join(','), _count: String(ids.length), ...includes };
  return (await g.base.searchJson(type, from, opts)).included;
}

/** The search as the audit row records it (parameters, not results). */
function queryText(params: SearchParams): string {
  return new URLSearchParams(
    Object.entries(params).flatMap(([k, v]) =>
      ([] as string[]).concat(v ?? []).map((one): [string, string] => [k, one]),
    ),
  ).toString();
}

/**
 * Why `p` may not run this search at all, or undefined: the searched type itself too (a route's search
 * was checked by the front, but a transaction's conditional reference, `Patient?identifier=…`, searches
 * here, and its match or miss would tell a client without search permission which identifiers exist),
 * the types a chain looks into, and a reverse chain by a party, or its chain into client data (each
 * tests other resources' content, which the party's consent may not cover even where it shows the
 * matches themselves).
 */
function searchRefusal(
  p: Principal,
  type: string,
  params: SearchParams,
  opts: SearchOptions | undefined,
): FhirError | undefined {
  const forbidden = (text: string) => new FhirError(403, issue('error', 'forbidden', text));
  if (!p.unrestricted) {
    if (!allows(p.scopes, type, 's'))
      return forbidden(`sec-scope-1: searching ${type} needs search permission on ${type}`);
    for (const through of chainedTypes(type, params, opts))
      if (!allows(p.scopes, through, 's'))
        return forbidden(`sec-scope-1: searching through ${through} needs search permission on ${through}`);
  }
  const iterates = Object.keys(params).some((k) => {
    const [name, modifier] = k.split(':');
    return (name === '_include' || name === '_revinclude') && modifier === 'iterate';
  });
  if (p.party && iterates)
    return forbidden(
      'sec-consent-4: a receiving party cannot iterate _include/_revinclude: a step would pass through resources its consent may not show',
    );
  if (p.party && Object.keys(params).some((k) => k.startsWith('_has:')))
    return forbidden(
      'sec-consent-4: a receiving party cannot search with _has: it would test data its consent may not show',
    );
  const chain = p.party ? Object.keys(params).find((k) => chainsIntoClientData(type, k, opts)) : undefined;
  if (chain !== undefined)
    return new FhirError(
      403,
      issue(
        'error',
        'forbidden',
        'sec-consent-4: a receiving party cannot search through a chained parameter into client data: it would test data its consent may not show',
        chain,
      ),
    );
  if (p.party && Object.entries(params).some(([k, v]) => v !== undefined && k.split(':')[0] === '_offset'))
    return partyOffset();
  return undefined;
}

/**
 * Whether the search parameter `key` of `type` is a chain (`subject:Patient.name`, `patient.identifier`)
 * that looks into a type which may hold client data (consent.ts `holdsClientData`). A party sees a
 * referrer by its own client's consent, but the resource it points at may be another client's, withheld
 * from it: a yes or no per guess would rebuild that client's name, birth date and HETU. A chain whose
 * target the key leaves open (several are possible), or a chain of chains, is judged as one that does.
 */
function chainsIntoClientData(type: string, key: string, opts: SearchOptions | undefined): boolean {
  const dot = key.indexOf('.');
  if (key.startsWith('_') || dot < 0) return false;
  if (key.includes('.', dot + 1)) return true;
  const [target] = chainedTypes(type, { [key]: '' }, opts);
  return target === undefined || holdsClientData(target);
}

/**
 * A party pages with the next links (`_cursor`): the store would count an offset over every match,
 * withheld ones included, so which match a page starts at would tell whether withheld ones exist (with
 * `identifier=<a HETU>,<one it sees>`, whether that HETU is a client here). Refused whatever the value.
 * The name counts with any modifier (`_offset:x`), as the store reads it.
 */
const partyOffset = () =>
  new FhirError(
    400,
    issue(
      'error',
      'forbidden',
      'sec-consent-5: a receiving party pages with the next link (_cursor), not _offset: an offset counts matches withheld from it',
      '_offset',
    ),
  );

/**
 * search-type: a party's matches are filtered by consent and get no total (a count would tell what it
 * may not see); turvakielto Patients are redacted; the audit row names every patient returned.
 */
export async function searchJson(
  g: Guard,
  type: string,
  asked: SearchParams,
  opts?: SearchOptions,
): Promise<SearchJsonResult> {
  const { p } = g;
  // Judged with the search's own options: a chain names the type the search will look into.
  const refused = searchRefusal(p, type, asked, opts);
  if (refused) await refuseAudited(g, 'search-type', type, [], refused);
  // A party's next link carries a token for the store's cursor (party-cursor.ts).
  const token = p.party ? [asked._cursor ?? []].flat().at(-1) : undefined;
  const params =
    token === undefined ? asked : { ...asked, _cursor: await partyCursor(g.base, p.clientId, token) };
  // A party's matches are found without their includes, which are then run from those it may see.
  const { matches, includes } = p.party ? includesApart(params) : { matches: params, includes: {} };
  let result = await g.base.searchJson(type, matches, opts);
  let { ids, json } = result;
  let consents: string[] = [];
  if (p.party) {
    ({ result, ids, json, consents } = await partyPage(g, p.party, type, matches, opts, result));
    const included = await includedFrom(g, type, ids, includes, opts);
    if (included?.length) result = { ...result, included };
  }
  if (!p.turvakielto && type === 'Patient') {
    json = json.map((text) =>
      text.includes(TURVAKIELTO) ? JSON.stringify(redactNonDisclosed(JSON.parse(text))) : text,
    );
  }
  const patients = json.flatMap((text, i) => patientOfJson(type, ids[i] as string, text, p.base));
  let included: Included | undefined;
  if (result.included) {
    const shown = await visibleIncluded(g, result.included);
    included = shown.included;
    consents = [...new Set([...consents, ...shown.consents])];
    for (const inc of included) patients.push(...patientOfJson(inc.type, inc.id, inc.json, p.base));
  }
  await g.audit([
    succeeded(
      g,
      'search-type',
      'E',
      [type, ...(included ?? []).map((inc) => `${inc.type}/${inc.id}`)],
      [...new Set(patients)],
      { consents, query: queryText(params) },
    ),
  ]);
  const { total: _total, ...rest } = result;
  return { ...(p.party ? rest : result), ids, json, ...(included ? { included } : {}) };
}

/**
 * What lets a caller look a type's resources up by business identifier: a search of it, or an update
 * of it (a conditional update, a domain API write, which match before they write).
 */
const LOOKS_UP_TYPE: readonly Permission[] = ['s', 'u'];

/**
 * A lookup of `type` by business identifier before a write (`interaction`: the one audited when it is
 * refused): a search of it or an update of it (LOOKS_UP_TYPE), else an audited 403. A receiving party
 * is refused it outright for client data, as a conditional write (admit.ts `partyRefusal`): whether a
 * match exists may be data its consent does not show, and the write's answer would tell. Judged
 * before anything is looked up, so every such refusal reads the same whatever exists.
 */
export async function admitLookup(g: Guard, type: string, interaction: string): Promise<void> {
  const need = entryNeed('POST', type, true);
  const refusal = need && partyRefusal(g.p, need, type);
  if (refusal) await refuseAudited(g, interaction, type, [], refusal);
  await admitType(
    g,
    type,
    LOOKS_UP_TYPE,
    { interaction, entity: type },
    `finding ${type} by identifier needs search permission on ${type}`,
  );
}

/** Resources found by business identifier (matching before a write): read rules apply to each. */
export async function findByIdentifiers(
  g: Guard,
  type: string,
  identifiers: Parameters<StoreWrites['findByIdentifiers']>[1],
  opts?: Parameters<StoreWrites['findByIdentifiers']>[2],
): Promise<Resource[][]> {
  await admitLookup(g, type, 'search-type');
  const found = await g.base.findByIdentifiers(type, identifiers, opts);
  const seen = found.flat();
  const shown = await Promise.all(found.map((list) => Promise.all(list.map((r) => checkedMatch(g, r)))));
  if (seen.length) {
    await g.audit([
      succeeded(
        g,
        'search-type',
        'E',
        seen.map((r) => `${r.resourceType}/${r.id}`),
        seen.flatMap((r) => patientOf(r, g.p.base)),
        { consents: consentRefs(shown.flat().map((s) => s.consentId)) },
      ),
    ]);
  }
  return shown.map((list) => list.map((s) => s.resource));
}

/** Stands in the 409 for referrers of types the caller may not read. */
const UNREADABLE_REFERRERS = 'resources outside your read scopes';

/**
 * Who still points at a resource (checked before a delete). A party is not told: when anything
 * does, its delete is refused like a withheld read, naming nothing. Any other caller is told the
 * referrers it could read; the rest are one phrase, so a delete does not list ids of types its
 * scopes keep from it.
 */
export async function referrers(g: Guard, ...args: Parameters<StoreWrites['referrers']>): Promise<string[]> {
  const found = await g.base.referrers(...args);
  if (g.p.party && found.length) throw withheld(args[0], args[1]);
  if (g.p.unrestricted) return found;
  const readable = found.filter((ref) => allows(g.p.scopes, ref.slice(0, ref.indexOf('/')), 'r'));
  return readable.length === found.length ? found : [...readable, UNREADABLE_REFERRERS];
}

/** Of `refs` (`Type/id`), those a party may not read: missing, deleted or withheld alike. */
async function hiddenFromParty(g: Guard, refs: readonly string[]): Promise<Set<string>> {
  const hidden = new Set<string>();
  for (const ref of new Set(refs)) {
    // A version (`Type/id/_history/v`) is shown as the resource's current read is.
    const [type = '', id = ''] = ref.split('/');
    try {
      await checked(g, await g.base.read(type, id));
    } catch (err) {
      if (!(err instanceof FhirError)) throw err;
      hidden.add(ref);
    }
  }
  return hidden;
}

/**
 * Which reference targets do not exist, for the write path's reference check: nothing is disclosed
 * but existence, so nothing is audited. For a party a target it may not read counts as absent, so a
 * write cannot tell it that a withheld resource exists.
 */
export async function absent(g: Guard, refs: readonly string[]): Promise<string[]> {
  const gone = await g.base.absent(refs);
  if (!g.p.party) return gone;
  const hidden = await hiddenFromParty(g, refs);
  return refs.filter((r) => gone.includes(r) || hidden.has(r));
}

/**
 * A write's reference targets (checked by the store with the write) as a party sees them: one it may
 * not read is refused before the write, in the words the store uses for a missing one.
 */
export async function refuseHiddenTargets(
  g: Guard,
  targets: readonly ReferenceTarget[] | undefined,
): Promise<void> {
  if (g.p.party && targets) await requireTargets(targets, (refs) => hiddenFromParty(g, refs));
}

/** history-instance: a party needs consent for the newest version; every version is redacted alike. */
export async function history(g: Guard, type: string, id: string): Promise<HistoryEntry[]> {
  const { p } = g;
  const entity = `${type}/${id}`;
  await admitRead(g, 'history-instance', type, entity);
  const versions = await hideMissing(g, type, id, () => g.base.history(type, id)).catch((e) =>
    auditRefusal(g, 'history-instance', entity, [], e),
  );
  const newest = versions.find((v) => v.resource)?.resource;
  let shown = versions;
  let consentIds: (string | undefined)[] = [];
  if (p.party) {
    if (!newest) await auditRefusal(g, 'history-instance', entity, [], withheld(type, id));
    // The newest version decides whether the history is answered; each older one is shown as its
    // vread would be (one about another client, before a correction, is left out).
    await checked(g, newest as Resource).catch((e) =>
      auditRefusal(g, 'history-instance', entity, patientOf(newest as Resource, g.p.base), e),
    );
    ({ shown, consentIds } = await partyVersions(g, p.party, versions));
  }
  const patients = [...new Set(shown.flatMap((v) => (v.resource ? patientOf(v.resource, g.p.base) : [])))];
  await g.audit([
    succeeded(g, 'history-instance', 'R', [`${type}/${id}`], patients, { consents: consentRefs(consentIds) }),
  ]);
  return p.turvakielto ? shown : redactedHistory(g, shown);
}

/**
 * The versions `party` may read, each judged as its vread is (a deletion names no client), and the
 * consents that let it; one check for them all, which reads each client's consents once.
 */
async function partyVersions(
  g: Guard,
  party: string,
  versions: HistoryEntry[],
): Promise<{ shown: HistoryEntry[]; consentIds: (string | undefined)[] }> {
  const disclosure = disclosureCheck(g, party);
  const shown: HistoryEntry[] = [];
  const consentIds: (string | undefined)[] = [];
  for (const v of versions) {
    const d = v.resource ? await disclosure.check(v.resource) : { permitted: true };
    if (!d.permitted) continue;
    shown.push(v);
    if ('consentId' in d) consentIds.push(d.consentId);
  }
  return { shown, consentIds };
}

/** history-type and history-system: not for a party (its access is decided per client and consent). */
export async function historyPage(
  g: Guard,
  ...args: Parameters<StoreWrites['historyPage']>
): ReturnType<StoreWrites['historyPage']> {
  const { p } = g;
  const [type] = args;
  if (type) await admitRead(g, 'history-type', type, type);
  if (p.party) {
    await auditRefusal(
      g,
      type ? 'history-type' : 'history-system',
      type ?? '*',
      [],
      new FhirError(
        403,
        issue(
          'error',
          'forbidden',
          'sec-consent-1: history across clients is not available to a receiving party',
        ),
      ),
    );
  }
  const page = await g.base.historyPage(...args);
  const patients = page.entries.flatMap((e) => (e.resource ? patientOf(e.resource, g.p.base) : []));
  await g.audit([
    succeeded(g, type ? 'history-type' : 'history-system', 'R', [type ?? '*'], [...new Set(patients)]),
  ]);
  return p.turvakielto ? page : { ...page, entries: await redactedHistory(g, page.entries) };
}
