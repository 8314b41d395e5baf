/** *Vastuutyöntekijän vaihto* — handing the client over to the next responsible worker. */
import { type CareTeamRole, type ResponsibleWorkerKind, isResponsibleWorkerKind } from '../codes.ts';
import type { ResponsibleWorkerTeam, TeamMember } from '../types.ts';

function isOpenOn(member: TeamMember, date: string): boolean {
  return member.period.start <= date && (member.period.end === undefined || member.period.end >= date);
}

/** Responsible-worker members whose period has no end (*nykyinen vastuutyöntekijä*). */
export function currentResponsibleWorkers(team: ResponsibleWorkerTeam): TeamMember[] {
  return team.members.filter((m) => isResponsibleWorkerKind(m.role) && m.period.end === undefined);
}

export type ResponsibleWorkerCheck =
  | { valid: true; reason: string; current: TeamMember }
  | { valid: false; reason: string };

/** Exactly one current responsible worker (the rule the CareTeam invariant `tyk-ctm-1` also states). */
export function checkSingleResponsibleWorker(team: ResponsibleWorkerTeam): ResponsibleWorkerCheck {
  const current = currentResponsibleWorkers(team);
  if (current.length === 1)
    return {
      valid: true,
      reason: `${current[0]!.professionalId} is the responsible worker`,
      current: current[0]!,
    };
  return {
    valid: false,
    reason: current.length
      ? `${current.length} current responsible workers (${current.map((m) => m.professionalId).join(', ')}); exactly one allowed`
      : 'no current responsible worker; exactly one required',
  };
}

/** Who was the responsible worker on a date (history included). */
export function responsibleWorkerOn(team: ResponsibleWorkerTeam, date: string): TeamMember | undefined {
  return team.members.find((m) => isResponsibleWorkerKind(m.role) && isOpenOn(m, date));
}

export interface HandoverRequest {
  /** The next responsible worker. */
  professionalId: string;
  role: ResponsibleWorkerKind;
  /** The day the next worker takes over; the current period ends the day before. */
  date: string;
}

export type HandoverResult =
  | { ok: true; team: ResponsibleWorkerTeam; ended?: TeamMember; started: TeamMember; reason: string }
  | { ok: false; reason: string };

function dayBefore(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

/**
 * Ends the period of the responsible worker on the handover date and starts the next one's, returning
 * a new team (the input is not changed). The worker handed over from is the one current on that date:
 * an open period, or one whose planned end is on or after it (which is brought forward to the day
 * before). Refuses a team that already breaks the one-current rule, a handover dated on or before the
 * current period began, and a handover to the worker who already holds it.
 */
export function handOver(team: ResponsibleWorkerTeam, next: HandoverRequest): HandoverResult {
  if (!isResponsibleWorkerKind(next.role as CareTeamRole)) {
    return { ok: false, reason: `role '${next.role}' is not a responsible-worker kind` };
  }
  const current = currentResponsibleWorkers(team);
  if (current.length > 1)
    return { ok: false, reason: `team ${team.id} already has ${current.length} current responsible workers` };
  const previous = current[0] ?? plannedToEnd(team, next.date);
  const started: TeamMember = {
    professionalId: next.professionalId,
    role: next.role,
    period: { start: next.date },
  };
  if (!previous) {
    return {
      ok: true,
      team: { ...team, members: [...team.members, started] },
      started,
      reason: `no current responsible worker; ${next.professionalId} starts on ${next.date}`,
    };
  }
  if (previous.professionalId === next.professionalId && previous.role === next.role) {
    return { ok: false, reason: `${next.professionalId} is already the responsible worker` };
  }
  if (next.date <= previous.period.start) {
    return {
      ok: false,
      reason: `handover on ${next.date} is not after the current period's start ${previous.period.start}`,
    };
  }
  const ended: TeamMember = { ...previous, period: { ...previous.period, end: dayBefore(next.date) } };
  return {
    ok: true,
    team: { ...team, members: [...team.members.map((m) => (m === previous ? ended : m)), started] },
    ended,
    started,
    reason: `${previous.professionalId} hands over to ${next.professionalId}: period ends ${ended.period.end}, next starts ${next.date}`,
  };
}

/**
 * With no open-ended responsible worker: the one whose period, with a planned end, still runs on
 * `date` (or starts on it, so that the handover is refused as not after its start).
 */
function plannedToEnd(team: ResponsibleWorkerTeam, date: string): TeamMember | undefined {
  return team.members.find(
    (m) =>
      isResponsibleWorkerKind(m.role) &&
      m.period.end !== undefined &&
      m.period.end >= date &&
      m.period.start <= date,
  );
}
