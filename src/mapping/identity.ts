/**
 * Deterministic business identifiers (Kanta PHR requires a globally unique `identifier`): a UUID v5
 * from a fixed namespace and the natural key `<local id system>|<local id>`. The same domain object
 * always gets the same identifier, so re-sending it is a conditional-create no-op.
 */
import { hash } from 'node:crypto';
import type { Identifier, Reference, Resource } from '@medplum/fhirtypes';
import { validate as isUuid, parse as parseUuid, v5 as uuidv5 } from 'uuid';
import { isGlobalIdentifier } from '../domain/index.ts';
import { FhirError, issue } from '../shared/outcome.ts';
import { LOWER_CASE_UUID, isUrnUuid } from '../shared/references.ts';
import { type FhirKind, MAP } from './config.ts';

/** The project's UUID v5 namespace: v5 of the canonical base in the URL namespace. */
export const NAMESPACE = uuidv5(MAP.identifiers.uuidNamespaceName, uuidv5.URL);

/** Namespace bytes followed by the UTF-8 name; grown when a name does not fit. */
let input = Buffer.alloc(512);
input.set(parseUuid(NAMESPACE), 0);

const HEX = Buffer.from('0123456789abcdef', 'latin1');
const URN = 'urn:uuid:';
/** `urn:uuid:` and the 36 characters of the last UUID computed. */
const out = Buffer.alloc(URN.length + 36);
out.write(URN, 0, 'latin1');

/**
 * RFC 9562 UUID v5 (SHA-1 of namespace + name) written after `urn:uuid:` in `out`. The `uuid` package
 * gives the same result (a test checks it); this variant hashes with the one-shot `crypto.hash` from a
 * reused buffer and formats the digest itself, which is several times faster on the mapping's hot
 * path, and the string read from `out` is one flat string (not a tree of slices a kept Bundle would hold).
 */
function writeUuidV5(name: string): void {
  const worst = 16 + name.length * 3; // UTF-8 bytes per UTF-16 unit ≤ 3
  if (worst > input.length) {
    const bigger = Buffer.alloc(worst * 2);
    input.copy(bigger, 0, 0, 16);
    input = bigger;
  }
  const end = 16 + input.write(name, 16, 'utf8');
  const h = hash('sha1', input.subarray(0, end), 'buffer') as unknown as Buffer;
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  let o = URN.length;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) out[o++] = 0x2d;
    const b = h[i]!;
    out[o++] = HEX[b >> 4]!;
    out[o++] = HEX[b & 15]!;
  }
}

export function uuidV5(name: string): string {
  writeUuidV5(name);
  return out.toString('latin1', URN.length);
}

function urnV5(name: string): string {
  writeUuidV5(name);
  return out.toString('latin1');
}

export interface IdentityOptions {
  /** Base of the systems under which the vendor's local ids are recorded (one system per kind). */
  localIdSystemBase?: string;
  /** Memo of the `urn:uuid:` URLs computed during one mapping call, per kind, per id (internal). */
  uuidMemo?: Map<FhirKind, Map<string, string>>;
}

const DEFAULT_SYSTEMS = Object.fromEntries(
  Object.keys(MAP.kinds).map((k) => [k, `${MAP.identifiers.localIdSystemBase}/${k}`]),
) as Record<FhirKind, string>;

export function localIdSystem(kind: FhirKind, opts?: IdentityOptions): string {
  const base = opts?.localIdSystemBase;
  return base === undefined ? DEFAULT_SYSTEMS[kind] : `${base}/${kind}`;
}

/**
 * A domain id that carries a business identifier instead of naming a local id: `urn.uuid.<UUID>` (a
 * local id cannot hold the URN's ':'). `fromFhir` gives it to a resource it reads without a local id
 * under the reader's system — another sender's, or one made in Omakanta — and `toFhir` sends that UUID
 * back as the business identifier rather than deriving a new one from the id, so a record read from
 * elsewhere and sent back updates what is there instead of duplicating it.
 */
const CARRIED = new RegExp(`^urn\\.uuid\\.(${LOWER_CASE_UUID})$`);

/** The domain id carrying the business identifier `urn:uuid:<uuid>` (lowercase hexadecimal). */
export function carriedId(uuid: string): string {
  return `urn.uuid.${uuid}`;
}

/** The UUID a carried id (`urn.uuid.<UUID>`) holds; undefined for a local id. */
export function carriedUuid(id: string): string | undefined {
  return CARRIED.exec(id)?.[1];
}

/**
 * The UUID of a domain object. Self-assessment ids are UUIDs already and are used as they are
 * (a QuestionnaireResponse has room for one identifier only); a carried id gives the UUID it carries;
 * any other id is a local id, whose UUID is derived from it.
 */
export function businessUuid(kind: FhirKind, id: string, opts?: IdentityOptions): string {
  if (kind === 'selfAssessment' && isUuid(id)) return id.toLowerCase();
  return carriedUuid(id) ?? uuidV5(`${localIdSystem(kind, opts)}|${id}`);
}

/**
 * Keys of the resources a domain object yields besides its own: '/' cannot occur in a local id, so
 * the key splits back unambiguously. A goal with a carried id is keyed by it alone (it names its Goal's
 * business identifier whatever plan holds it).
 */
export function goalKey(planId: string, goalId: string): string {
  return carriedUuid(goalId) === undefined ? `${planId}/${goalId}` : goalId;
}
export function scoreKey(assessmentId: string, method: string): string {
  return `${assessmentId}/${method}`;
}

export function fullUrl(kind: FhirKind, id: string, opts?: IdentityOptions): string {
  const memo = opts?.uuidMemo;
  if (!memo) return `urn:uuid:${businessUuid(kind, id, opts)}`;
  // Keyed by the caller's id string itself: its hash is computed once, unlike a concatenated key's.
  let byId = memo.get(kind);
  if (!byId) {
    byId = new Map();
    memo.set(kind, byId);
  }
  let url = byId.get(id);
  if (url === undefined) {
    const carried = kind === 'selfAssessment' && isUuid(id) ? id.toLowerCase() : carriedUuid(id);
    url = carried === undefined ? urnV5(`${localIdSystem(kind, opts)}|${id}`) : `urn:uuid:${carried}`;
    byId.set(id, url);
  }
  return url;
}

/**
 * The identifier a domain id names — the one rule for finding an object by its domain id: a carried
 * id (`urn.uuid.<UUID>`) names the business identifier `urn:uuid:<UUID>` it carries, and so does a
 * self-assessment's id (its UUID); any other id is a local id, named under the kind's local-id system.
 * A reference writes it as its target's identifier, and the server looks a client up by it.
 */
export function idIdentifier(
  kind: FhirKind,
  id: string,
  opts?: IdentityOptions,
): { system: string; value: string } {
  return kind === 'selfAssessment' || carriedUuid(id) !== undefined
    ? { system: MAP.identifiers.business, value: fullUrl(kind, id, opts) }
    : { system: localIdSystem(kind, opts), value: id };
}

/** A resource's identifiers: its business identifier, and the identifier its domain id names when that is another. */
export function identifiers(kind: FhirKind, id: string, opts?: IdentityOptions): Identifier[] {
  const business: Identifier = { system: MAP.identifiers.business, value: fullUrl(kind, id, opts) };
  const named = idIdentifier(kind, id, opts);
  return named.system === business.system ? [business] : [business, named];
}

/** A reference inside the Bundle (urn:uuid) that also names its target's identifier, so it survives the server. */
export function reference(kind: FhirKind, id: string, opts?: IdentityOptions): Reference<any> {
  return {
    reference: fullUrl(kind, id, opts),
    type: MAP.kinds[kind].resourceType as Reference['type'],
    identifier: idIdentifier(kind, id, opts),
  };
}

/**
 * The domain id recorded in a resource's identifiers: the local id, else the business identifier
 * carried (`urn.uuid.<UUID>`, so that it is sent back as it came); a self-assessment's id is the UUID.
 */
export function localIdOf(
  kind: FhirKind,
  ids: Identifier[] | undefined,
  opts?: IdentityOptions,
): string | undefined {
  const system = localIdSystem(kind, opts);
  const local = ids?.find((i) => i.system === system)?.value;
  if (local !== undefined) return local;
  const business = ids?.find((i) => i.system === MAP.identifiers.business)?.value;
  if (!business?.startsWith('urn:uuid:')) return undefined;
  const uuid = business.slice('urn:uuid:'.length);
  return kind === 'selfAssessment' || !isUrnUuid(business) ? uuid : carriedId(uuid);
}

/**
 * The business identifier (`urn:uuid:…`) `id` derives as a local id under its system — the reader's
 * local-id system or any other sender's, which the reader does not know.
 */
export function derivedBusinessId(id: Identifier): string | undefined {
  if (typeof id.system !== 'string' || typeof id.value !== 'string') return undefined;
  return `urn:uuid:${uuidV5(`${id.system}|${id.value}`)}`;
}

/** Whether `id` is the local id the business identifier `business` (`urn:uuid:…`) derives from. */
export function derivesBusinessId(id: Identifier, business: string | undefined): boolean {
  return business !== undefined && derivedBusinessId(id) === business;
}

/** The HETUs a resource carries as identifiers. */
function hetusOf(r: Resource): string[] {
  return ([] as Identifier[])
    .concat((r as { identifier?: Identifier | Identifier[] }).identifier ?? [])
    .filter((i) => i?.system === MAP.identifiers.hetu.system && typeof i.value === 'string')
    .map((i) => i.value as string);
}

/**
 * `tyk-id-2`: two Patients found to be "the same" by business identifier are two different people
 * when both carry a HETU and they share none (typically two senders keeping the SDK's default
 * local-id system, so that their clients `c1` got one identifier). Writing one over the other, or
 * the data of one onto the other, would merge two people's records.
 */
export function differentClients(incoming: Resource, matched: Resource): boolean {
  if (incoming.resourceType !== 'Patient' || matched.resourceType !== 'Patient') return false;
  const mine = hetusOf(incoming);
  const theirs = hetusOf(matched);
  return mine.length > 0 && theirs.length > 0 && !mine.some((h) => theirs.includes(h));
}

/** An identifier a write must hold alone, as the store is given it. */
export interface HeldAloneIdentifier {
  system: string;
  value: string;
}

/**
 * What a write of `resource` must hold alone, each identifier once, with the 409 for one another
 * current resource of the type already carries (naming the identifier and the rule, never its value
 * or the other resource); undefined when there is none:
 * - `tyk-id-3`: one person is one client here, so a Patient's HETUs. A second Patient of one person
 *   would split the person's data and consents in two: a withdrawal recorded on one would not cover
 *   what is written for the other.
 * - `tyk-id-4`: a globally unique business identifier (`isGlobalIdentifier`, the one Kanta PHR
 *   requires and `tyk-id-1` asks for) names one resource. Two resources carrying one would be one
 *   resource to every reader that finds by identifier: a conditional create or update, and the sync,
 *   which would deliver both onto one remote resource.
 *
 * `at` is where the resource sits (`Observation`, `Bundle.entry[2].resource`); default its type.
 */
export function identifiersHeldAlone(
  resource: Resource,
  at: string = resource.resourceType,
): { identifiers: HeldAloneIdentifier[]; refused: (held: HeldAloneIdentifier) => FhirError } | undefined {
  const all = ([] as Identifier[]).concat(
    (resource as { identifier?: Identifier | Identifier[] }).identifier ?? [],
  );
  const hetuSystem = MAP.identifiers.hetu.system;
  const keys = new Set<string>();
  const identifiers: HeldAloneIdentifier[] = [];
  for (const i of all) {
    const held =
      (resource.resourceType === 'Patient' && i?.system === hetuSystem && typeof i.value === 'string') ||
      isGlobalIdentifier(i?.system, i?.value);
    const key = `${i?.system}|${i?.value}`;
    if (!held || keys.has(key)) continue;
    keys.add(key);
    identifiers.push({ system: i.system as string, value: i.value as string });
  }
  if (!identifiers.length) return undefined;
  const refused = (held: HeldAloneIdentifier) => {
    const index = all.findIndex((i) => i?.system === held.system && i.value === held.value);
    const where = `${at}.identifier[${index}]`;
    return held.system === hetuSystem
      ? new FhirError(
          409,
          issue(
            'error',
            'duplicate',
            'tyk-id-3: another Patient carries this HETU: one person is one client here (update that Patient, e.g. by a conditional update on the identifier, instead of writing a second)',
            where,
          ),
        )
      : new FhirError(
          409,
          issue(
            'error',
            'duplicate',
            `tyk-id-4: another ${resource.resourceType} already has this business identifier: a globally unique identifier names one resource (update that one, e.g. by a conditional update on the identifier, instead of writing a second)`,
            where,
          ),
        );
  };
  return { identifiers, refused };
}
