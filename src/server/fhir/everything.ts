// Patient/$everything (R4 patient-operation-everything): the Patient and every resource of its
// compartment that the store links to it through a `patient` search parameter, in one searchset
// Bundle. Everything is read through the caller's store, so each part obeys what a read or search of
// it would: scopes, a party's consent, turvakielto, and an audit row per read and search.
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../shared/outcome.ts';
import { searchParamsByType } from '../resource-types.ts';
import { sinceParam } from './history.ts';
import { readResourceJson } from './interactions.ts';
import type { FhirHandler } from './route-types.ts';

/** At most this many resources in one answer; a larger record is asked for in parts (`_type`, `_since`). */
export const MAX_EVERYTHING = 10_000;
/** What the operation takes (R4 defines also start, end and _count; not supported here). */
const EVERYTHING_PARAMETERS = ['_type', '_since', '_format', '_pretty'];
/** Matches read per search. */
const PAGE_SIZE = 1000;

let compartment: string[] | undefined;

/** The types whose `patient` search parameter can name a Patient: what the operation reads. */
export function compartmentTypes(): string[] {
  compartment ??= [...searchParamsByType()]
    .filter(([, params]) => params.get('patient')?.targets?.includes('Patient'))
    .map(([type]) => type);
  return compartment;
}

/** The types `_type` asks for (comma-separated, repeatable), each one the operation can read. */
function requestedTypes(value: string | string[] | undefined): string[] {
  if (value === undefined) return ['Patient', ...compartmentTypes()];
  const asked = [value].flat().flatMap((v) => v.split(','));
  for (const type of asked) {
    if (type !== 'Patient' && !compartmentTypes().includes(type))
      throw new FhirError(
        400,
        issue(
          'error',
          'invalid',
          `_type: '${type}' is not a type of the Patient compartment here (allowed: Patient, ${compartmentTypes().join(', ')})`,
          '_type',
        ),
      );
  }
  return [...new Set(asked)];
}

const entry = (base: string, type: string, id: string, json: string) =>
  `{"fullUrl":${JSON.stringify(`${base}/${type}/${id}`)},"resource":${json},"search":{"mode":"match"}}`;

const outcomeEntry = (oo: OperationOutcome) =>
  `{"resource":${JSON.stringify(oo)},"search":{"mode":"outcome"}}`;

export const patientEverything: FhirHandler = async (req, ctx) => {
  const { type, id } = req.params;
  if (type !== 'Patient')
    throw new FhirError(
      404,
      issue('error', 'not-supported', `$everything is an operation on Patient here, not on ${type}`),
    );
  for (const name of Object.keys(req.query))
    if (!EVERYTHING_PARAMETERS.includes(name))
      throw FhirError.badRequest(
        `Unknown $everything parameter "${name}" (supported: ${EVERYTHING_PARAMETERS.slice(0, 2).join(', ')})`,
        name,
      );
  const since = sinceParam(req.query);
  const types = requestedTypes(req.query._type);
  // The Patient first: a caller who may not see it gets its refusal, and nothing else is read.
  const patient = await readResourceJson(ctx.store, 'Patient', id);
  const entries: string[] = [];
  if (types.includes('Patient') && (!since || Date.parse(patient.lastUpdated) >= Date.parse(since)))
    entries.push(entry(ctx.base, 'Patient', id, patient.json));
  const withheld: string[] = [];
  for (const t of types) {
    if (t === 'Patient') continue;
    if (!(await readCompartmentType(ctx, t, id, since, entries))) withheld.push(t);
  }
  const head: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    total: entries.length,
    link: [{ relation: 'self', url: `${ctx.base}/Patient/${id}/$everything` }],
  };
  if (withheld.length)
    entries.push(
      outcomeEntry({
        resourceType: 'OperationOutcome',
        issue: [
          issue(
            'information',
            'suppressed',
            `Not included: the caller may not search ${withheld.join(', ')}`,
          ),
        ],
      }),
    );
  const json = entries.length
    ? `${JSON.stringify(head).slice(0, -1)},"entry":[${entries.join(',')}]}`
    : JSON.stringify(head);
  return { status: 200, json };
};

/**
 * Appends the Patient's resources of `type` (every page); false when the caller may not search that
 * type (403), which leaves it out instead of failing the whole operation.
 */
async function readCompartmentType(
  ctx: Parameters<FhirHandler>[1],
  type: string,
  id: string,
  since: string | undefined,
  entries: string[],
): Promise<boolean> {
  let cursor: string | undefined;
  do {
    let page: Awaited<ReturnType<typeof ctx.store.searchJson>>;
    try {
      page = await ctx.store.searchJson(type, {
        patient: `Patient/${id}`,
        _count: String(PAGE_SIZE),
        ...(since ? { _lastUpdated: `ge${since}` } : {}),
        ...(cursor ? { _cursor: cursor } : {}),
      });
    } catch (err) {
      if (err instanceof FhirError && err.status === 403) return false;
      throw err;
    }
    for (let i = 0; i < page.json.length; i++)
      entries.push(entry(ctx.base, type, page.ids[i] as string, page.json[i] as string));
    if (entries.length > MAX_EVERYTHING)
      throw new FhirError(
        400,
        issue(
          'error',
          'too-costly',
          `This client's record holds more than ${MAX_EVERYTHING} resources: ask for it in parts with _type or _since`,
        ),
      );
    cursor = page.nextCursor;
  } while (cursor);
  return true;
}
