/** *Vastuutyöntekijän vaihto* — handing the client over to the next responsible worker. */
import { type CareTeamRole, type ResponsibleWorkerKind, isResponsibleWorkerKind } from '../codes.ts';
import type { ResponsibleWorkerTeam, TeamMember } from '../types.ts';
import { calendarDay, dayAfter, dayArgument, dayBefore, finnishDay, notADay } from './calendar.ts';

function isOpenOn(member: TeamMember, date: string): boolean {
  return member.period.start <= date && (member.period.end === undefined || member.period.end >= date);
}

/** Responsible-worker members whose period has no end (*nykyinen vastuutyöntekijä*). */
export function currentResponsibleWorkers(team: ResponsibleWorkerTeam): TeamMember[] {
  return team.members.filter((m) => isResponsibleWorkerKind(m.role) && m.period.end === undefined);
}

type Refusal = {
  valid: false;
  reason: string;
  rule: 'tyk-ctm-1' | 'tyk-ctm-2' | 'team-ended';
  /** The team's field at fault. */
  field: 'members' | 'ended';
};

export type ResponsibleWorkerCheck = { valid: true; reason: string; current: TeamMember[] } | Refusal;

const refused = (rule: Refusal['rule'], field: Refusal['field'], reason: string): Refusal => ({
  valid: false,
  rule,
  field,
  reason,
});

/** `a and b`: who, by professional id (never a client's data). */
const names = (members: TeamMember[]) => members.map((m) => m.professionalId).join(' and ');

/**
 * At least one current responsible worker (the rule the CareTeam invariant `tyk-ctm-1` also states):
 * one person, or a pair or a network sharing the role (DOMAIN.md); none once the team has `ended`.
 */
export function checkResponsibleWorkers(team: ResponsibleWorkerTeam): ResponsibleWorkerCheck {
  if (team.ended !== undefined) return checkEndedTeam(team, team.ended);
  const current = currentResponsibleWorkers(team);
  if (!current.length)
    return refused('tyk-ctm-1', 'members', 'no current responsible worker; at least one required');
  return {
    valid: true,
    reason: `${names(current)} ${current.length > 1 ? 'are the responsible workers' : 'is the responsible worker'}`,
    current,
  };
}

/**
 * A team whose client relationship ended: no current worker is needed any more, and every member's
 * period has ended by the day the relationship did (the CareTeam invariant `tyk-ctm-2`, whose
 * `CareTeam.period.end` is that day), which is not after today (`team-ended`).
 */
function checkEndedTeam(team: ResponsibleWorkerTeam, ended: string): ResponsibleWorkerCheck {
  // A day still to come is a plan: the team stays active until it comes.
  if (ended > finnishDay())
    return refused('team-ended', 'ended', `${ended} is in the future; a team ends on or before today`);
  const open = team.members.filter((m) => m.period.end === undefined);
  if (open.length)
    return refused(
      'tyk-ctm-2',
      'members',
      `the team ended on ${ended}, but the period of ${names(open)} has no end`,
    );
  const late = team.members.filter((m) => (m.period.end as string) > ended);
  if (late.length)
    return refused(
      'tyk-ctm-2',
      'members',
      `the team ended on ${ended}, but the period of ${names(late)} ends after it`,
    );
  return { valid: true, reason: `the team ended on ${ended}`, current: [] };
}

/**
 * A refusal of the team's periods: the member at fault (its index in `members` and the field), the
 * rule and why (professional ids and days only).
 */
export interface TeamPeriodViolation {
  index: number;
  field: 'period.start' | 'period.end';
  rule: 'team-continuity' | 'team-duplicate-member';
  reason: string;
}

/** A member's period, unless it ends before it starts (which `period-order` refuses on its own). */
const inOrder = (m: TeamMember) => m.period.end === undefined || m.period.end >= m.period.start;

/** Do two periods share a day (an end day is included; no end runs on)? */
const overlap = (a: TeamMember, b: TeamMember) =>
  (b.period.end === undefined || a.period.start <= b.period.end) &&
  (a.period.end === undefined || b.period.start <= a.period.end);

/**
 * What the team's periods break from `today` on (DOMAIN.md stage 4: a named responsible worker until
 * the client relationship ends): `team-continuity` — the responsible workers' periods together cover
 * every day from today (or the first one's start, when later) to the day the team `ended` (or on: the
 * open end is `tyk-ctm-1`'s, an open-ended responsible worker), a gap of a day or more naming the member
 * that starts after it (or, before the end, the last one to end); `team-duplicate-member` — one
 * professional is in one role at most once on any day from today on, naming the later entry. Members
 * in other roles cover nothing. Days before today are history: a gap or a double entry there is what
 * was recorded, kept as it was (a rule that refused it would have the past rewritten).
 */
export function checkTeamPeriods(
  team: ResponsibleWorkerTeam,
  today: string = finnishDay(),
): TeamPeriodViolation[] {
  return [...continuityGaps(team, today), ...duplicateMembers(team, today)];
}

const later = (a: string, b: string) => (a > b ? a : b);

function continuityGaps(team: ResponsibleWorkerTeam, today: string): TeamPeriodViolation[] {
  const responsible = team.members
    .map((m, index) => ({ m, index }))
    .filter(
      ({ m }) =>
        isResponsibleWorkerKind(m.role) &&
        inOrder(m) &&
        // After the end, no member runs (tyk-ctm-2); nothing there to cover.
        (team.ended === undefined || m.period.start <= team.ended),
    )
    .sort((a, b) =>
      a.m.period.start === b.m.period.start
        ? a.index - b.index
        : a.m.period.start < b.m.period.start
          ? -1
          : 1,
    );
  const first = responsible[0];
  if (!first) return [];
  const out: TeamPeriodViolation[] = [];
  // The first day the periods so far leave uncovered (undefined once one runs on), and whose period
  // ended the day before it.
  let uncovered: string | undefined = first.m.period.start;
  let last = first;
  for (const r of responsible) {
    if (uncovered === undefined) break;
    if (r.m.period.start > uncovered && r.m.period.start > today)
      out.push({
        index: r.index,
        field: 'period.start',
        rule: 'team-continuity',
        reason: `no responsible worker from ${later(uncovered, today)} to ${dayBefore(r.m.period.start)}; the next one starts on ${r.m.period.start}`,
      });
    const end = r.m.period.end;
    if (end === undefined) uncovered = undefined;
    else if (dayAfter(end) > uncovered) {
      uncovered = dayAfter(end);
      last = r;
    }
  }
  if (team.ended !== undefined && uncovered !== undefined && uncovered <= team.ended && team.ended >= today)
    out.push({
      index: last.index,
      field: 'period.end',
      rule: 'team-continuity',
      reason: `no responsible worker from ${later(uncovered, today)} to ${team.ended}, when the team ended`,
    });
  return out;
}

function duplicateMembers(team: ResponsibleWorkerTeam, today: string): TeamPeriodViolation[] {
  const out: TeamPeriodViolation[] = [];
  // Only what runs on today or later can overlap there.
  const current = (m: TeamMember) => inOrder(m) && (m.period.end === undefined || m.period.end >= today);
  team.members.forEach((m, j) => {
    if (!current(m)) return;
    const i = team.members.findIndex(
      (o, k) =>
        k < j && o.professionalId === m.professionalId && o.role === m.role && current(o) && overlap(o, m),
    );
    if (i >= 0)
      out.push({
        index: j,
        field: 'period.start',
        rule: 'team-duplicate-member',
        reason: `${m.professionalId} is in role ${m.role} twice over overlapping periods (members[${i}] and members[${j}])`,
      });
  });
  return out;
}

/**
 * Why the team a rule here made from `given` breaks `checkTeamPeriods` where `given` did not (the
 * first such refusal, with its rule), or `undefined`. A gap or a double entry the team already had —
 * stored before the rule, or through FHIR, which does not check it — is history a handover or an end
 * neither makes nor can mend, so it does not refuse them.
 */
function periodsRefusal(team: ResponsibleWorkerTeam, given: ResponsibleWorkerTeam): string | undefined {
  const had = new Set(checkTeamPeriods(given).map((v) => `${v.rule}: ${v.reason}`));
  return checkTeamPeriods(team)
    .map((v) => `${v.rule}: ${v.reason}`)
    .find((refusal) => !had.has(refusal));
}

export type TeamEndResult =
  | { ok: true; team: ResponsibleWorkerTeam; reason: string }
  | { ok: false; reason: string };

/**
 * Ends the client relationship on `date` (*asiakkuuden päättyminen*): every period still running then
 * ends on that day, and the team is marked ended (a new team; the input is not changed). Refused for a
 * team that has already ended, for a date before a member's period began or after today (a planned
 * end is not an ended relationship), and for a `date` that is not a calendar day.
 */
export function endTeam(team: ResponsibleWorkerTeam, when: string | Date): TeamEndResult {
  const date = calendarDay(when);
  if (date === undefined) return { ok: false, reason: notADay('date') };
  if (team.ended !== undefined)
    return { ok: false, reason: `team ${team.id} already ended on ${team.ended}` };
  const late = team.members.find((m) => m.period.start > date);
  if (late) return { ok: false, reason: `${late.professionalId}'s period begins after ${date}` };
  const members = team.members.map((m) =>
    m.period.end === undefined || m.period.end > date ? { ...m, period: { ...m.period, end: date } } : m,
  );
  const ended = { ...team, members, ended: date };
  const check = checkEndedTeam(ended, date);
  if (!check.valid) return { ok: false, reason: check.reason };
  const periods = periodsRefusal(ended, team);
  if (periods) return { ok: false, reason: periods };
  return { ok: true, team: ended, reason: `team ${team.id} ended on ${date}` };
}

/** Who were the responsible workers on a date (history included): one, or a pair or a network. */
export function responsibleWorkersOn(team: ResponsibleWorkerTeam, date: string | Date): TeamMember[] {
  const day = dayArgument(date, 'date');
  return team.members.filter((m) => isResponsibleWorkerKind(m.role) && isOpenOn(m, day));
}

/** The responsible worker on a date, the first of them when several shared the role (`responsibleWorkersOn`). */
export function responsibleWorkerOn(
  team: ResponsibleWorkerTeam,
  date: string | Date,
): TeamMember | undefined {
  return responsibleWorkersOn(team, date)[0];
}

export interface HandoverRequest {
  /** The next responsible worker. */
  professionalId: string;
  role: ResponsibleWorkerKind;
  /** The day the next worker takes over; the current period ends the day before. */
  date: string;
  /**
   * The responsible worker handed over from, by professional id: needed when several share the role
   * (a pair), and checked when given.
   */
  from?: string;
}

export type HandoverResult =
  | { ok: true; team: ResponsibleWorkerTeam; ended?: TeamMember; started: TeamMember; reason: string }
  | { ok: false; reason: string };

/**
 * Ends the period of the responsible worker on the handover date and starts the next one's, returning
 * a new team (the input is not changed). The worker handed over from is the one current on that date:
 * an open period, or one whose planned end is on or after it (which is brought forward to the day
 * before); with a pair (several current), `from` names which of them hands over. Refuses a handover
 * dated on or before the current period began, and one to a worker who already holds the role.
 */
export function handOver(team: ResponsibleWorkerTeam, request: HandoverRequest): HandoverResult {
  const date = calendarDay(request.date);
  if (date === undefined) return { ok: false, reason: notADay('date') };
  const next = { ...request, date };
  if (!isResponsibleWorkerKind(next.role as CareTeamRole)) {
    return { ok: false, reason: `role '${next.role}' is not a responsible-worker kind` };
  }
  if (team.ended !== undefined) return { ok: false, reason: `team ${team.id} ended on ${team.ended}` };
  const current = currentResponsibleWorkers(team);
  if (current.length > 1 && next.from === undefined)
    return {
      ok: false,
      reason: `team ${team.id} has ${current.length} current responsible workers; name the one handed over from`,
    };
  const previous =
    next.from === undefined
      ? (current[0] ?? plannedToEnd(team, next.date))
      : (current.find((m) => m.professionalId === next.from) ?? plannedToEnd(team, next.date, next.from));
  if (next.from !== undefined && !previous)
    return { ok: false, reason: `${next.from} is not a current responsible worker of team ${team.id}` };
  if (current.some((m) => m !== previous && m.professionalId === next.professionalId && m.role === next.role))
    return { ok: false, reason: `${next.professionalId} is already a responsible worker` };
  const started: TeamMember = {
    professionalId: next.professionalId,
    role: next.role,
    period: { start: next.date },
  };
  if (!previous) {
    const out = { ...team, members: [...team.members, started] };
    const periods = periodsRefusal(out, team);
    if (periods) return { ok: false, reason: periods };
    return {
      ok: true,
      team: out,
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
  const out = { ...team, members: [...team.members.map((m) => (m === previous ? ended : m)), started] };
  // What the team was given may break the period rules already; what it gives back breaks no more.
  const periods = periodsRefusal(out, team);
  if (periods) return { ok: false, reason: periods };
  return {
    ok: true,
    team: out,
    ended,
    started,
    reason: `${previous.professionalId} hands over to ${next.professionalId}: period ends ${ended.period.end}, next starts ${next.date}`,
  };
}

/**
 * With no open-ended responsible worker: the one whose period, with a planned end, still runs on
 * `date` (or starts on it, so that the handover is refused as not after its start).
 */
function plannedToEnd(team: ResponsibleWorkerTeam, date: string, who?: string): TeamMember | undefined {
  return team.members.find(
    (m) =>
      isResponsibleWorkerKind(m.role) &&
      (who === undefined || m.professionalId === who) &&
      m.period.end !== undefined &&
      m.period.end >= date &&
      m.period.start <= date,
  );
}
