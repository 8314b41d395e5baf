import type { Identifier } from '@medplum/fhirtypes';
import type { ResponsibleWorkerTeam } from '../../domain/index.ts';
import { fullUrl, localIdOf } from '../../mapping/index.ts';
import { FhirError, issue } from '../../shared/outcome.ts';
import type { StoreWrites } from '../ports.ts';
import { businessIdOf, clientPatient, ofPatient } from './client-data.ts';

/** A team being written, and the domain path that names it (`ResponsibleWorkerTeam`, `WorkAbilityRecord.teams[1]`). */
export interface TeamAt {
  team: ResponsibleWorkerTeam;
  at: string;
}

/**
 * `one-active-team`: a client has one active responsible-worker team at a time (DOMAIN.md: *a named
 * responsible worker until the client relationship ends*; it changes by a handover within the team,
 * or the team ends and another begins), so "the client's responsible worker" never depends on which
 * team was edited last. A write of an active team (no `ended`) while the caller's store holds another
 * active team of that client — one this write does not also send — or a record with two active teams
 * of one client is a 409 naming the team's `clientId`; nothing is written. The domain API's one home
 * of the rule (`writeAll`, in the transaction of the write, under the client's lock); the teams a
 * write ends in the same request do not count. A stored team is one this write sends when their
 * business identifiers are one (as `writeAll` matches them): a team re-sent under its carried id
 * (`urn.uuid.<UUID>`, another sender's reading of it) is the team stored, not a second one.
 */
export async function assertOneActiveTeam(store: StoreWrites, teams: readonly TeamAt[]): Promise<void> {
  const sent = new Set(teams.map((t) => fullUrl('team', t.team.id)));
  const firstActive = new Map<string, TeamAt>();
  for (const t of teams) {
    if (t.team.ended !== undefined) continue;
    const first = firstActive.get(t.team.clientId);
    if (first)
      throw oneActiveTeam(
        t,
        `client "${t.team.clientId}" has two active responsible-worker teams in this record ("${first.team.id}" and "${t.team.id}"): one is active at a time`,
      );
    firstActive.set(t.team.clientId, t);
  }
  for (const t of firstActive.values()) {
    const patient = await clientPatient(store, t.team.clientId);
    if (!patient) continue; // the write fails on its reference to the client
    const active = await ofPatient(store, patient, 'CareTeam', { status: 'active', _count: '100' });
    const stored = active.find((r) => !sent.has(businessIdOf(r) ?? ''));
    if (stored === undefined) continue;
    const other =
      localIdOf('team', (stored as { identifier?: Identifier[] }).identifier) ?? `CareTeam/${stored.id}`;
    const clientId = t.team.clientId;
    throw oneActiveTeam(
      t,
      `client "${clientId}" already has an active responsible-worker team ("${other}"): end it (ended) before another begins, or hand over within it (POST /api/clients/${clientId}/responsible-worker)`,
    );
  }
}

function oneActiveTeam(t: TeamAt, why: string): FhirError {
  const field = `${t.at}.clientId`;
  return new FhirError(409, issue('error', 'conflict', `one-active-team: ${field}: ${why}`, field));
}
