/**
 * Dependency order across rounds and workers: a row goes only when every resource it references is on
 * the remote (its remote id is mapped) or goes in an earlier wave of the same round. A row whose
 * dependency is still queued waits (`pending`, short delay); one whose dependency is blocked, dead,
 * parked, held or never queued is `held` with that reason (status shows it) and re-checked later.
 */
import { timeSpent } from '../context.ts';
import { businessIdentifier } from '../context.ts';
import { absoluteReferences, collectReferences, versionedReferences } from '../references.ts';
import {
  type IdMapping,
  type LatestState,
  type OutboxRow,
  deletedOnRemote,
  isDeletedHere,
  laterRowsOf,
  latestStates,
  mappingsForLocal,
  release,
  settle,
} from '../repository.ts';
import type { Round } from './state.ts';
import type { LogicalTargets } from './writes.ts';

/** How long a row waits for a dependency that is in flight before it is looked at again. */
export const WAIT_FOR_DEPENDENCY_MS = 250;

export interface Ordered {
  /** Rows to send, wave by wave (a wave references only mapped resources or earlier waves). */
  waves: OutboxRow[][];
  logical: LogicalTargets;
  /** Mappings read while ordering: of every synced dependency and of the rows' own resources. */
  mappings: Map<string, IdMapping>;
}

type Verdict = { kind: 'wait' | 'hold'; reason: string };

/** References of a row that must be on the remote (or made logical) before it can go. */
function dependenciesOf(row: OutboxRow): string[] {
  if (row.action === 'delete') return [];
  const self = `${row.resource_type}/${row.resource_id}`;
  return [...collectReferences(row.payload)].filter((r) => r !== self);
}

/** Orders `rows` into waves; rows that cannot go now are released (waiting) or held, with the reason. */
export async function orderByDependencies(round: Round, rows: OutboxRow[]): Promise<Ordered> {
  const { ctx } = round;
  const inBatch = new Map(rows.map((r) => [`${r.resource_type}/${r.resource_id}`, r]));
  const deps = new Map(rows.map((r) => [r.id, dependenciesOf(r)]));
  const all = [...new Set([...deps.values()].flat())];
  const synced = all.filter((r) => ctx.pushTypes.has(r.slice(0, r.indexOf('/'))));
  const logicalRefs = all.filter((r) => !ctx.pushTypes.has(r.slice(0, r.indexOf('/'))));
  const { mappings, states, goneThere } = await knownState(round, synced, inBatch);
  const logical = await logicalTargets(round, logicalRefs);
  const known: Known = { inBatch, mappings, states, goneThere, logical, pushTypes: ctx.pushTypes };

  const verdicts = new Map<string, Verdict>();
  for (const row of rows) {
    const v =
      absoluteVerdict(row, ctx.remote.baseUrl) ??
      versionVerdict(row, inBatch, mappings, ctx.pushTypes) ??
      ownVerdict(deps.get(row.id)!, known);
    if (v) verdicts.set(row.id, v);
  }
  // A row whose in-batch dependency cannot go cannot go either (to a fixed point).
  for (let changed = true; changed; ) {
    changed = false;
    for (const row of rows) {
      if (verdicts.has(row.id)) continue;
      for (const ref of deps.get(row.id)!) {
        const dep = inBatch.get(ref);
        const dv = dep && !mappings.has(ref) ? verdicts.get(dep.id) : undefined;
        if (!dv) continue;
        const reason =
          dv.kind === 'hold' ? heldFor(ref, { state: 'held' }) : `waiting for ${ref} to reach the remote`;
        verdicts.set(row.id, { kind: dv.kind, reason });
        changed = true;
        break;
      }
    }
  }
  await releaseHeldBack(round, rows, verdicts);
  const sendable = rows.filter((r) => !verdicts.has(r.id));
  return { waves: waves(sendable, deps, inBatch, mappings), logical, mappings };
}

/**
 * The mappings of the dependencies and of the rows themselves, the queue state of each dependency
 * outside the batch that is not mapped, and the mapped ones outside the batch the remote deleted while
 * the pull left their copy here (`goneThere`). A dependency settled between the two reads shows as
 * `done` without a mapping: its mapping (written in the statement that settled it) is read again.
 */
async function knownState(round: Round, synced: string[], inBatch: Map<string, OutboxRow>) {
  const { ctx } = round;
  const mappings = await timeSpent(ctx, 'database', () =>
    mappingsForLocal(ctx.store, [...synced, ...inBatch.keys()]),
  );
  const outside = synced.filter((r) => !inBatch.has(r) && !mappings.has(r));
  const states = outside.length
    ? await timeSpent(ctx, 'database', () => latestStates(ctx.store, outside))
    : new Map<string, LatestState>();
  const settled = outside.filter((r) => states.get(r)?.state === 'done');
  if (settled.length) {
    const late = await timeSpent(ctx, 'database', () => mappingsForLocal(ctx.store, settled));
    for (const [k, m] of late) mappings.set(k, m);
  }
  const mappedOutside = synced.filter((r) => !inBatch.has(r) && mappings.has(r));
  const goneThere = await timeSpent(ctx, 'database', () => deletedOnRemote(ctx.store, mappedOutside));
  return { mappings, states, goneThere };
}

/** A row with an absolute reference the sync cannot translate (it may point at this store) is held. */
function absoluteVerdict(row: OutboxRow, remoteBase: string): Verdict | undefined {
  if (row.action === 'delete') return undefined;
  const [absolute] = absoluteReferences(row.payload, remoteBase);
  if (absolute === undefined) return undefined;
  // The origin only: the rest of a URL may carry anything, and reasons reach logs and status.
  const origin = URL.canParse(absolute) ? new URL(absolute).origin : 'an unreadable URL';
  return {
    kind: 'hold',
    reason: `held: references an absolute URL at ${origin}, which the sync cannot translate (it may point at this store); refer to it as Type/id or by identifier`,
  };
}

/**
 * A versioned reference goes only as the remote's copy of the same version: of the version the id
 * map last synced (or the one in this batch, once it is there). Any other version — an earlier one,
 * or one of a resource the remote knows only by identifier — has no remote counterpart: held.
 */
function versionVerdict(
  row: OutboxRow,
  inBatch: Map<string, OutboxRow>,
  mappings: Map<string, IdMapping>,
  pushTypes: Set<string>,
): Verdict | undefined {
  if (row.action === 'delete') return undefined;
  for (const { target, version } of versionedReferences(row.payload)) {
    const fix = `refer to ${target} without a version`;
    if (!pushTypes.has(target.slice(0, target.indexOf('/'))))
      return {
        kind: 'hold',
        reason: `held: refers to version ${version} of ${target}, which the remote knows only by identifier; ${fix}`,
      };
    const queued = inBatch.get(target)?.version_id;
    const synced = mappings.get(target)?.local_version;
    const current = queued ?? synced;
    if (current != null && current !== version)
      return {
        kind: 'hold',
        reason: `held: refers to version ${version} of ${target}, but the remote gets the copy of version ${current}; ${fix}`,
      };
  }
  return undefined;
}

/** What the ordering knows of the round's dependencies (knownState, logicalTargets). */
interface Known {
  inBatch: Map<string, OutboxRow>;
  mappings: Map<string, IdMapping>;
  states: Map<string, LatestState>;
  goneThere: Set<string>;
  logical: LogicalTargets;
  pushTypes: Set<string>;
}

function ownVerdict(refs: string[], known: Known): Verdict | undefined {
  const { inBatch, mappings, states, goneThere, logical, pushTypes } = known;
  for (const ref of refs) {
    if (!pushTypes.has(ref.slice(0, ref.indexOf('/')))) {
      if (!logical.get(ref)) {
        return {
          kind: 'hold',
          reason: `references ${ref}, which is not synced and has no business identifier to refer to it by`,
        };
      }
      continue;
    }
    // Mapped, but deleted there: the remote would refuse the reference, or keep it dangling.
    if (goneThere.has(ref))
      return {
        kind: 'hold',
        reason: `held: depends on ${ref}, deleted on the remote (its copy here is kept while resources here refer to it)`,
      };
    if (mappings.has(ref) || inBatch.has(ref)) continue;
    const s = states.get(ref);
    // Deleted here before it reached the remote: it never will (its delete is not to be waited for).
    if (isDeletedHere(s)) return { kind: 'hold', reason: `held: depends on ${ref}, which was deleted here` };
    if (s?.state === 'pending' || s?.state === 'inflight') {
      return { kind: 'wait', reason: `waiting for ${ref} to reach the remote` };
    }
    return { kind: 'hold', reason: heldFor(ref, s) };
  }
  return undefined;
}

/**
 * Why a row is held for its dependency `ref` (`state`: its latest row's, none when never queued): the
 * dependency and its state, not why it is in that state — its own row, listed by state, says that
 * (`sync dead-letters --state`), and held rows by the hundred would each carry a copy. Only a
 * dependency settled without reaching the remote, a row no listing shows, is followed by its reason:
 * always ours (restricted, superseded …), never a remote's words.
 */
function heldFor(
  ref: string,
  s: { state: LatestState['state']; reason?: string | null } | undefined,
): string {
  if (!s) return `held: depends on ${ref}, which was never queued for the remote`;
  if (s.state !== 'done') return `held: depends on ${ref}, which is ${s.state}`;
  return `held: depends on ${ref}, which is not on the remote${s.reason ? ` (${s.reason})` : ''}`;
}

/**
 * Rows that cannot go now wait (`pending`, short delay) or are held, with the reason — except a version
 * a later row of its resource follows: that one is settled as superseded, since the later version
 * carries the resource on (it may no longer refer to what this one waits for, e.g. a goal unlinked
 * from a score deleted before it reached the remote). Held, it would keep the later rows of its
 * resource, and the client's later deletes, waiting for good.
 */
async function releaseHeldBack(round: Round, rows: OutboxRow[], verdicts: Map<string, Verdict>) {
  const { ctx } = round;
  const stopped = rows.filter((r) => verdicts.has(r.id));
  if (!stopped.length) return;
  const followed = await timeSpent(ctx, 'database', () => laterRowsOf(ctx.store, stopped));
  const superseded = stopped.filter((r) => followed.has(r.id));
  if (superseded.length) {
    await timeSpent(ctx, 'database', () =>
      settle(
        ctx.store,
        round.claim,
        superseded.map((r) => r.id),
        'done',
        { reason: 'superseded: a later version of the resource is queued' },
      ),
    );
    round.result.done += superseded.length;
  }
  const groups = new Map<string, { kind: Verdict['kind']; ids: string[] }>();
  for (const row of stopped.filter((r) => !followed.has(r.id))) {
    const v = verdicts.get(row.id) as Verdict;
    const g = groups.get(`${v.kind}\u0000${v.reason}`) ?? { kind: v.kind, ids: [] };
    g.ids.push(row.id);
    groups.set(`${v.kind}\u0000${v.reason}`, g);
    if (v.kind === 'hold') {
      round.result.held++;
      ctx.metrics.pushed.inc({ type: row.resource_type, result: 'held' });
    } else round.result.waiting++;
  }
  for (const [key, g] of groups) {
    const reason = key.slice(key.indexOf('\u0000') + 1);
    await timeSpent(ctx, 'database', () =>
      g.kind === 'wait'
        ? release(ctx.store, round.claim, g.ids, WAIT_FOR_DEPENDENCY_MS, reason)
        : release(ctx.store, round.claim, g.ids, ctx.heldRecheckMs, reason, 'held'),
    );
  }
}

/** Levels by in-batch dependencies: wave n references only waves < n (or mapped resources). */
function waves(
  rows: OutboxRow[],
  deps: Map<string, string[]>,
  inBatch: Map<string, OutboxRow>,
  mappings: Map<string, IdMapping>,
): OutboxRow[][] {
  const sendable = new Set(rows.map((r) => r.id));
  const level = new Map<string, number>();
  const levelOf = (row: OutboxRow, seen: Set<string>): number => {
    const known = level.get(row.id);
    if (known !== undefined) return known;
    let l = 0;
    for (const ref of deps.get(row.id) ?? []) {
      const dep = inBatch.get(ref);
      if (dep && sendable.has(dep.id) && !mappings.has(ref) && !seen.has(ref))
        l = Math.max(l, levelOf(dep, new Set([...seen, ref])) + 1);
    }
    level.set(row.id, l);
    return l;
  };
  const out: OutboxRow[][] = [];
  for (const row of rows) {
    const l = levelOf(row, new Set([`${row.resource_type}/${row.resource_id}`]));
    if (!out[l]) out[l] = [];
    out[l].push(row);
  }
  return out.filter((w) => w?.length);
}

/**
 * Business identifiers of referenced resources the sync does not send, read from the local store (all
 * at once: the store coalesces concurrent reads into one statement).
 */
export async function logicalTargets(round: Round, refs: string[]): Promise<LogicalTargets> {
  if (!refs.length) return new Map();
  const targets = await timeSpent(round.ctx, 'database', () =>
    Promise.all(
      refs.map((ref) => {
        const slash = ref.indexOf('/');
        return round.ctx.store.read(ref.slice(0, slash), ref.slice(slash + 1)).catch(() => undefined);
      }),
    ),
  );
  return new Map(refs.map((ref, i) => [ref, targets[i] ? (businessIdentifier(targets[i]) ?? null) : null]));
}
