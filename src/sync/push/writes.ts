/**
 * The remote write an outbox row becomes: POST (conditional on the business identifier), PUT of the
 * mapped remote resource (If-Match the version we last saw), or DELETE. Every reference is translated:
 * to the remote id of a synced resource, or — for a resource the sync does not send (directory
 * resources such as PractitionerRole and Organization) — to a logical reference by its business
 * identifier; a versioned reference, to the remote's copy of that version. A row with any reference
 * left untranslated is never sent.
 */
import type { Patient, Resource } from '@medplum/fhirtypes';
import { hasNonDisclosure, redactNonDisclosed, redactPatient } from '../../mapping/index.ts';
import { identifierCriteria } from '../../store/index.ts';
import { type SyncStore, businessIdentifier, readHere } from '../context.ts';
import {
  type ReferenceTranslation,
  relativeParts,
  relativeUnder,
  translateReferences,
} from '../references.ts';
import { stripForRemote } from '../remote-client.ts';
import type { IdMapping, OutboxRow } from '../repository.ts';

export interface RemoteWrite {
  row: OutboxRow;
  key: string;
  /** Its `urn:uuid` in a transaction Bundle that other entries of the same Bundle refer to it by. */
  fullUrl?: string;
  method: 'POST' | 'PUT' | 'DELETE';
  url: string;
  resource?: Resource;
  ifNoneExist?: string;
  ifMatch?: string;
  mapping?: IdMapping;
  /**
   * It refers to another entry of its Bundle by `urn:uuid`: the remote stores the reference resolved,
   * so what it holds is known only from its answer (see delivery.remember).
   */
  viaBundle?: boolean;
}

/** Business identifiers of the local resources referenced logically (null: it has none / is missing). */
export type LogicalTargets = Map<string, { system: string; value: string } | null>;

/** Where the writes go: the types the sync sends, and the remote's base as the sync reaches it. */
export interface WriteTarget {
  pushTypes: Set<string>;
  remoteBase: string;
  /** Local ids of the Patients under turvakielto now (`labelledNow`): every version of theirs goes redacted. */
  labelled?: ReadonlySet<string>;
}

/** The write target of a sync context, with the round's Patients under turvakielto now. */
export const writeTarget = (
  ctx: { pushTypes: Set<string>; remote: { baseUrl: string } },
  labelled?: ReadonlySet<string>,
): WriteTarget => ({
  pushTypes: ctx.pushTypes,
  remoteBase: ctx.remote.baseUrl,
  ...(labelled ? { labelled } : {}),
});

/**
 * Which Patients of `rows` are under turvakielto now, though the version a row sends does not carry
 * the label: their current local version does, or they are deleted here (the sync cannot read the
 * version before the deletion, and the remote copy's delete follows). Their every version goes
 * redacted, as the facade shows them to a reader without the turvakielto scope: a label added later
 * protects the address an earlier version still holds.
 */
export async function labelledNow(
  store: Pick<SyncStore, 'read'>,
  rows: readonly OutboxRow[],
): Promise<Set<string>> {
  const out = new Set<string>();
  const unlabelled = rows.filter(
    (r) =>
      r.resource_type === 'Patient' && r.action !== 'delete' && r.payload && !hasNonDisclosure(r.payload),
  );
  for (const id of new Set(unlabelled.map((r) => r.resource_id))) {
    const current = await readHere<Patient>(store, 'Patient', id);
    if (!current || hasNonDisclosure(current)) out.add(id);
  }
  return out;
}

/** A row's content as a party may receive it: without what turvakielto protects, now or in this version. */
function disclosable(row: OutboxRow, labelled: ReadonlySet<string> | undefined): Resource {
  const now = row.resource_type === 'Patient' && labelled?.has(row.resource_id);
  return now ? redactPatient(row.payload) : redactNonDisclosed(row.payload);
}

/** The write for `row`, or the references that cannot be translated yet. */
export function remoteWrite(
  row: OutboxRow,
  mappings: Map<string, IdMapping>,
  { pushTypes, remoteBase, labelled }: WriteTarget,
  logical: LogicalTargets,
  inBundle: Map<string, string> = new Map(),
): RemoteWrite | { untranslated: string[] } {
  const key = `${row.resource_type}/${row.resource_id}`;
  const mapping = mappings.get(key);
  if (row.action === 'delete') {
    return {
      row,
      key,
      method: 'DELETE',
      url: mapping ? `${row.resource_type}/${mapping.remote_id}` : '',
      mapping,
    };
  }
  let viaBundle = false;
  const { value: translated, untranslated } = translateReferences(
    // Turvakielto: a party never receives what the label protects (the facade redacts reads the same way).
    stripForRemote(disclosable(row, labelled)),
    (ref) => {
      const { target, version } = relativeParts(ref) as { target: string; version?: string };
      const type = target.slice(0, target.indexOf('/'));
      if (version !== undefined) return remoteVersion(mappings.get(target), version);
      if (pushTypes.has(type)) {
        const m = mappings.get(target);
        if (m) return { reference: `${m.resource_type}/${m.remote_id}` };
        const urn = inBundle.get(target);
        if (!urn) return undefined;
        viaBundle = true;
        return { reference: urn };
      }
      const identifier = logical.get(target);
      return identifier ? { identifier, type } : undefined;
    },
  );
  if (untranslated.length) return { untranslated };
  // A reference a pulled copy names by the remote's URL (its target not pulled) is the remote's own
  // `Type/id`: sent relative, it resolves on the remote whatever URL it knows itself by.
  const body = relativeUnder(translated, remoteBase);
  if (mapping) {
    return {
      row,
      key,
      method: 'PUT',
      url: `${row.resource_type}/${mapping.remote_id}`,
      resource: { ...body, id: mapping.remote_id },
      ifMatch: mapping.remote_version ?? undefined,
      mapping,
      viaBundle,
    };
  }
  const ident = businessIdentifier(row.payload)!;
  const { id: _local, ...withoutId } = body;
  return {
    row,
    key,
    fullUrl: inBundle.get(key),
    method: 'POST',
    url: row.resource_type,
    resource: withoutId as Resource,
    ifNoneExist: identifierCriteria(ident.system, ident.value),
    viaBundle,
  };
}

/**
 * A versioned reference on the remote: the remote's copy of that very version, known only when it is
 * the version the id map last synced (a logical or in-Bundle reference cannot carry a version).
 */
function remoteVersion(m: IdMapping | undefined, version: string): ReferenceTranslation | undefined {
  if (!m || m.local_version !== version || !m.remote_version) return undefined;
  return { reference: `${m.resource_type}/${m.remote_id}/_history/${m.remote_version}` };
}

/** The same row written as a create again (its remote copy is gone). */
export function asCreate(
  write: RemoteWrite,
  target: WriteTarget,
  logical: LogicalTargets,
  mappings: Map<string, IdMapping>,
) {
  const withoutSelf = new Map(mappings);
  withoutSelf.delete(write.key);
  return remoteWrite(write.row, withoutSelf, target, logical);
}
