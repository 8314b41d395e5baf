// A named responsible worker until the client relationship ends (DOMAIN.md stage 4): from today on, the
// responsible workers' periods leave no day uncovered until the team's end (`team-continuity`), and one
// professional is not twice in one role at once (`team-duplicate-member`); before today is history, kept
// as recorded. handOver's and endTeam's teams break neither where the team they were given did not.
// Dates are counted from today (`d(n)`), so each case means the same on any day it runs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  RESPONSIBLE_WORKER_KINDS,
  type ResponsibleWorkerTeam,
  type TeamMember,
  checkTeamPeriods,
  domainIssues,
  endTeam,
  finnishDay,
  handOver,
} from '../../src/domain/index.ts';

const TODAY = finnishDay();
/** The day `n` days from today (before it when negative). */
const d = (n: number) => new Date(Date.parse(TODAY) + n * 86_400_000).toISOString().slice(0, 10);

const member = (
  professionalId: string,
  role: TeamMember['role'],
  start: string,
  end?: string,
): TeamMember => ({
  professionalId,
  role,
  period: end === undefined ? { start } : { start, end },
});
const team = (...members: TeamMember[]): ResponsibleWorkerTeam => ({ id: 't', clientId: 'c', members });
const diagnostics = (t: unknown) => domainIssues('team', t).map((i) => i.diagnostics);

describe('team-continuity', () => {
  it('refuses a stretch from today on with nobody responsible, naming the member that starts after it', () => {
    const gap = team(member('a', 'own-worker', d(-400), d(-200)), member('b', 'te-expert', d(300)));
    expect(domainIssues('team', gap)).toEqual([
      expect.objectContaining({
        expression: ['ResponsibleWorkerTeam.members[1].period.start'],
        diagnostics: `team-continuity: ResponsibleWorkerTeam.members[1].period.start: no responsible worker from ${TODAY} to ${d(299)}; the next one starts on ${d(300)}`,
      }),
    ]);
    // In any order of the members.
    const reversed = team(gap.members[1]!, gap.members[0]!);
    expect(domainIssues('team', reversed).map((i) => i.expression?.[0])).toEqual([
      'ResponsibleWorkerTeam.members[0].period.start',
    ]);
    // In a record too.
    expect(checkTeamPeriods(gap)).toEqual([
      expect.objectContaining({ index: 1, field: 'period.start', rule: 'team-continuity' }),
    ]);
    // A gap still to come, after a planned end.
    const ahead = team(member('a', 'own-worker', d(-10), d(20)), member('b', 'te-expert', d(40)));
    expect(diagnostics(ahead)).toEqual([
      `team-continuity: ResponsibleWorkerTeam.members[1].period.start: no responsible worker from ${d(21)} to ${d(39)}; the next one starts on ${d(40)}`,
    ]);
  });

  it('a gap before today is history: kept as recorded, not refused', () => {
    const past = team(member('a', 'own-worker', d(-400), d(-200)), member('b', 'own-worker', d(-100)));
    expect(diagnostics(past)).toEqual([]);
    // A gap that began before today and runs on is refused from today.
    const running = team(member('a', 'own-worker', d(-400), d(-200)), member('b', 'own-worker', d(5)));
    expect(diagnostics(running)).toEqual([
      `team-continuity: ResponsibleWorkerTeam.members[1].period.start: no responsible worker from ${TODAY} to ${d(4)}; the next one starts on ${d(5)}`,
    ]);
  });

  it('a gap of one day is a gap; the next day is none (a period end is its last day)', () => {
    const oneDay = team(member('a', 'own-worker', d(-30), d(10)), member('b', 'own-worker', d(12)));
    expect(diagnostics(oneDay)).toEqual([
      `team-continuity: ResponsibleWorkerTeam.members[1].period.start: no responsible worker from ${d(11)} to ${d(11)}; the next one starts on ${d(12)}`,
    ]);
    const adjacent = team(member('a', 'own-worker', d(-30), d(10)), member('b', 'own-worker', d(11)));
    expect(diagnostics(adjacent)).toEqual([]);
    // Across a year and a month end, whatever today is.
    const newYear = team(
      member('a', 'own-worker', d(-30), '2999-12-31'),
      member('b', 'own-worker', '3000-01-01'),
    );
    expect(diagnostics(newYear)).toEqual([]);
  });

  it('a pair covers for each other; members in other roles neither cover nor break it', () => {
    const pair = team(
      member('a', 'own-worker', d(-30), d(30)),
      member('te', 'te-expert', d(20), d(60)),
      member('doc', 'doctor', d(-300), d(-200)),
      member('b', 'own-worker', d(61)),
    );
    expect(diagnostics(pair)).toEqual([]);
    const doctorOnly = team(
      member('a', 'own-worker', d(-30), d(30)),
      member('doc', 'doctor', d(-30)),
      member('b', 'own-worker', d(61)),
    );
    expect(diagnostics(doctorOnly)).toEqual([
      `team-continuity: ResponsibleWorkerTeam.members[2].period.start: no responsible worker from ${d(31)} to ${d(60)}; the next one starts on ${d(61)}`,
    ]);
  });

  it('a team ended today: covered until the day it ended, naming the last period end; one ended before is history', () => {
    const ended = {
      ...team(member('a', 'own-worker', d(-60), d(-1)), member('doc', 'doctor', d(-60), TODAY)),
      ended: TODAY,
    };
    expect(domainIssues('team', ended)).toEqual([
      expect.objectContaining({
        expression: ['ResponsibleWorkerTeam.members[0].period.end'],
        diagnostics: `team-continuity: ResponsibleWorkerTeam.members[0].period.end: no responsible worker from ${TODAY} to ${TODAY}, when the team ended`,
      }),
    ]);
    expect(diagnostics({ ...ended, members: [member('a', 'own-worker', d(-60), TODAY)] })).toEqual([]);
    const endedBefore = {
      ...team(member('a', 'own-worker', d(-60), d(-31)), member('doc', 'doctor', d(-60), d(-1))),
      ended: d(-1),
    };
    expect(diagnostics(endedBefore)).toEqual([]);
  });

  it('tyk-ctm-1 keeps its meaning: a team whose only responsible worker has a planned end is refused by it alone', () => {
    const planned = team(member('a', 'own-worker', d(-30), d(300)));
    expect(diagnostics(planned)).toEqual([
      'tyk-ctm-1: ResponsibleWorkerTeam.members: no current responsible worker; at least one required',
    ]);
  });
});

describe('team-duplicate-member', () => {
  it('refuses one professional twice in one role over overlapping periods, naming the later entry', () => {
    const dup = team(member('a', 'own-worker', d(-60)), member('a', 'own-worker', d(-30)));
    expect(domainIssues('team', dup)).toEqual([
      expect.objectContaining({
        expression: ['ResponsibleWorkerTeam.members[1].period.start'],
        diagnostics:
          'team-duplicate-member: ResponsibleWorkerTeam.members[1].period.start: a is in role own-worker twice over overlapping periods (members[0] and members[1])',
      }),
    ]);
    // A role outside the responsible workers too; a shared last day is an overlap.
    const doctors = team(
      member('a', 'own-worker', d(-60)),
      member('doc', 'doctor', d(-60), d(10)),
      member('doc', 'doctor', d(10)),
    );
    expect(domainIssues('team', doctors).map((i) => i.expression?.[0])).toEqual([
      'ResponsibleWorkerTeam.members[2].period.start',
    ]);
  });

  it('accepts the same professional in two roles, in one role again after a break, or twice before today', () => {
    expect(diagnostics(team(member('a', 'own-worker', d(-60)), member('a', 'doctor', d(-60))))).toEqual([]);
    expect(
      diagnostics(
        team(
          member('a', 'own-worker', d(-90), d(-61)),
          member('b', 'own-worker', d(-60), d(-1)),
          member('a', 'own-worker', TODAY),
        ),
      ),
    ).toEqual([]);
    // History: an overlap that ended before today.
    expect(
      diagnostics(
        team(
          member('a', 'own-worker', d(-90)),
          member('doc', 'doctor', d(-90), d(-30)),
          member('doc', 'doctor', d(-40), d(-2)),
        ),
      ),
    ).toEqual([]);
  });
});

describe("handOver's and endTeam's teams break neither rule where the team they were given did not", () => {
  it('refuses a handover that would leave a stretch with nobody responsible', () => {
    const planned = team(member('a', 'own-worker', d(-30), d(30)));
    expect(handOver(planned, { professionalId: 'b', role: 'te-expert', date: d(40) })).toEqual({
      ok: false,
      reason: `team-continuity: no responsible worker from ${d(31)} to ${d(39)}; the next one starts on ${d(40)}`,
    });
    const next = handOver(planned, { professionalId: 'b', role: 'te-expert', date: d(31) });
    expect(next.ok).toBe(true);
    if (next.ok) expect(diagnostics(next.team)).toEqual([]);
  });

  it('refuses a handover to a professional who already has the role on a later or planned period', () => {
    const later = team(member('a', 'own-worker', d(-30)), member('b', 'own-worker', d(60), d(90)));
    expect(handOver(later, { professionalId: 'b', role: 'own-worker', date: d(10), from: 'a' })).toEqual({
      ok: false,
      reason:
        'team-duplicate-member: b is in role own-worker twice over overlapping periods (members[1] and members[2])',
    });
  });

  it('hands over and ends a team that has a gap in its history (or one the team already had ahead)', () => {
    const history = team(member('a', 'own-worker', d(-400), d(-300)), member('b', 'own-worker', d(-200)));
    const next = handOver(history, { professionalId: 'c', role: 'own-worker', date: d(-1), from: 'b' });
    expect(next).toMatchObject({ ok: true });
    expect(endTeam(history, TODAY)).toMatchObject({ ok: true });
    // A double entry it already had is no reason to refuse what does not add one.
    const doubled = team(member('a', 'own-worker', d(-30)), member('a', 'own-worker', d(-20)));
    expect(handOver(doubled, { professionalId: 'c', role: 'te-expert', date: d(5), from: 'a' }).ok).toBe(
      true,
    );
  });

  it('endTeam keeps the rules too', () => {
    const gap = team(member('a', 'own-worker', d(-30), d(-1)), member('b', 'own-worker', d(5)));
    expect(endTeam(gap, TODAY)).toEqual({
      ok: false,
      reason: `b's period begins after ${TODAY}`,
    });
    const ends = team(member('a', 'own-worker', d(-30), d(-1)), member('doc', 'doctor', d(-30)));
    expect(endTeam(ends, TODAY)).toEqual({
      ok: false,
      reason: `team-continuity: no responsible worker from ${TODAY} to ${TODAY}, when the team ended`,
    });
  });

  it('every handover accepted from a valid team gives a valid team; from any team, one that adds no break of either rule', () => {
    const who = fc.constantFrom('a', 'b', 'c');
    const kind = fc.constantFrom(...RESPONSIBLE_WORKER_KINDS);
    const request = fc.record({
      professionalId: who,
      role: kind,
      date: fc.integer({ min: -400, max: 400 }).map(d),
      from: fc.option(who, { nil: undefined }),
    });
    const anyMember = fc.record({
      professionalId: who,
      role: fc.constantFrom(...RESPONSIBLE_WORKER_KINDS, 'doctor' as const),
      start: fc.integer({ min: -500, max: 200 }),
      length: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
    });
    const breaks = (t: ResponsibleWorkerTeam) => checkTeamPeriods(t).map((v) => `${v.rule}: ${v.reason}`);
    fc.assert(
      fc.property(
        who,
        kind,
        fc.array(request, { maxLength: 6 }),
        fc.array(anyMember, { minLength: 1, maxLength: 4 }),
        (first, firstKind, requests, members) => {
          // From a valid team: every team handed over to is valid.
          let t = team(member(first, firstKind, d(-500)));
          for (const r of requests) {
            const res = handOver(t, r);
            if (!res.ok) continue;
            t = res.team;
            expect(diagnostics(t)).toEqual([]);
          }
          // From any team (handOver takes invalid ones too): what it gives breaks nothing new.
          const messy = team(
            ...members.map((m) =>
              member(
                m.professionalId,
                m.role,
                d(m.start),
                m.length === undefined ? undefined : d(m.start + m.length),
              ),
            ),
          );
          const had = new Set(breaks(messy));
          for (const r of requests) {
            const res = handOver(messy, r);
            if (res.ok) expect(breaks(res.team).filter((b) => !had.has(b))).toEqual([]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
