// A named responsible worker until the client relationship ends (DOMAIN.md stage 4): the responsible
// workers' periods leave no day uncovered from the first one's start to the team's end
// (`team-continuity`), and one professional is not twice in one role at once (`team-duplicate-member`).
// handOver's and endTeam's teams obey both.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  RESPONSIBLE_WORKER_KINDS,
  type ResponsibleWorkerTeam,
  type TeamMember,
  checkTeamPeriods,
  domainIssues,
  endTeam,
  handOver,
} from '../../src/domain/index.ts';

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
const ruleKeys = (t: ResponsibleWorkerTeam) =>
  domainIssues('team', t)
    .map((i) => i.diagnostics!.split(':')[0])
    .filter((k) => k === 'team-continuity' || k === 'team-duplicate-member');

describe('team-continuity', () => {
  it('refuses a stretch with nobody responsible, naming the member that starts after it', () => {
    const gap = team(
      member('a', 'own-worker', '2025-01-01', '2025-06-30'),
      member('b', 'te-expert', '2030-01-01'),
    );
    expect(domainIssues('team', gap)).toEqual([
      expect.objectContaining({
        expression: ['ResponsibleWorkerTeam.members[1].period.start'],
        diagnostics:
          'team-continuity: ResponsibleWorkerTeam.members[1].period.start: no responsible worker from 2025-07-01 to 2029-12-31; the next one starts on 2030-01-01',
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
  });

  it('a gap of one day is a gap; the next day is none (a period end is its last day)', () => {
    const oneDay = team(
      member('a', 'own-worker', '2025-01-01', '2025-06-29'),
      member('b', 'own-worker', '2025-07-01'),
    );
    expect(diagnostics(oneDay)).toEqual([
      'team-continuity: ResponsibleWorkerTeam.members[1].period.start: no responsible worker from 2025-06-30 to 2025-06-30; the next one starts on 2025-07-01',
    ]);
    const adjacent = team(
      member('a', 'own-worker', '2025-01-01', '2025-06-30'),
      member('b', 'own-worker', '2025-07-01'),
    );
    expect(diagnostics(adjacent)).toEqual([]);
    // Across a year and a month end.
    const newYear = team(
      member('a', 'own-worker', '2025-01-01', '2025-12-31'),
      member('b', 'own-worker', '2026-01-01'),
    );
    expect(diagnostics(newYear)).toEqual([]);
  });

  it('a pair covers for each other; members in other roles neither cover nor break it', () => {
    const pair = team(
      member('a', 'own-worker', '2025-01-01', '2025-06-30'),
      member('te', 'te-expert', '2025-03-01', '2025-09-30'),
      member('doc', 'doctor', '2024-01-01', '2024-02-01'),
      member('b', 'own-worker', '2025-10-01'),
    );
    expect(diagnostics(pair)).toEqual([]);
    const doctorOnly = team(
      member('a', 'own-worker', '2025-01-01', '2025-06-30'),
      member('doc', 'doctor', '2025-01-01'),
      member('b', 'own-worker', '2025-08-01'),
    );
    expect(diagnostics(doctorOnly)).toEqual([
      'team-continuity: ResponsibleWorkerTeam.members[2].period.start: no responsible worker from 2025-07-01 to 2025-07-31; the next one starts on 2025-08-01',
    ]);
  });

  it('an ended team: covered until the day it ended, naming the last period end', () => {
    const ended = {
      ...team(
        member('a', 'own-worker', '2025-01-01', '2025-05-31'),
        member('doc', 'doctor', '2025-01-01', '2025-06-30'),
      ),
      ended: '2025-06-30',
    };
    expect(domainIssues('team', ended)).toEqual([
      expect.objectContaining({
        expression: ['ResponsibleWorkerTeam.members[0].period.end'],
        diagnostics:
          'team-continuity: ResponsibleWorkerTeam.members[0].period.end: no responsible worker from 2025-06-01 to 2025-06-30, when the team ended',
      }),
    ]);
    expect(
      diagnostics({ ...ended, members: [member('a', 'own-worker', '2025-01-01', '2025-06-30')] }),
    ).toEqual([]);
  });

  it('tyk-ctm-1 keeps its meaning: a team whose only responsible worker has a planned end is refused by it alone', () => {
    const planned = team(member('a', 'own-worker', '2026-01-01', '2026-12-31'));
    expect(diagnostics(planned)).toEqual([
      'tyk-ctm-1: ResponsibleWorkerTeam.members: no current responsible worker; at least one required',
    ]);
  });
});

describe('team-duplicate-member', () => {
  it('refuses one professional twice in one role over overlapping periods, naming the later entry', () => {
    const dup = team(member('a', 'own-worker', '2025-01-01'), member('a', 'own-worker', '2025-03-01'));
    expect(domainIssues('team', dup)).toEqual([
      expect.objectContaining({
        expression: ['ResponsibleWorkerTeam.members[1].period.start'],
        diagnostics:
          'team-duplicate-member: ResponsibleWorkerTeam.members[1].period.start: a is in role own-worker twice over overlapping periods (members[0] and members[1])',
      }),
    ]);
    // A role outside the responsible workers too; a shared last day is an overlap.
    const doctors = team(
      member('a', 'own-worker', '2025-01-01'),
      member('doc', 'doctor', '2025-01-01', '2025-03-01'),
      member('doc', 'doctor', '2025-03-01'),
    );
    expect(domainIssues('team', doctors).map((i) => i.expression?.[0])).toEqual([
      'ResponsibleWorkerTeam.members[2].period.start',
    ]);
  });

  it('accepts the same professional in two roles, or in one role again after a break', () => {
    expect(
      diagnostics(team(member('a', 'own-worker', '2025-01-01'), member('a', 'doctor', '2025-01-01'))),
    ).toEqual([]);
    expect(
      diagnostics(
        team(
          member('a', 'own-worker', '2025-01-01', '2025-06-30'),
          member('b', 'own-worker', '2025-07-01', '2025-12-31'),
          member('a', 'own-worker', '2026-01-01'),
        ),
      ),
    ).toEqual([]);
  });
});

describe("handOver's and endTeam's teams obey both rules", () => {
  it('refuses a handover that would leave a stretch with nobody responsible', () => {
    const planned = team(member('a', 'own-worker', '2026-01-10', '2026-12-31'));
    expect(handOver(planned, { professionalId: 'b', role: 'te-expert', date: '2027-02-01' })).toEqual({
      ok: false,
      reason:
        'team-continuity: no responsible worker from 2027-01-01 to 2027-01-31; the next one starts on 2027-02-01',
    });
    const next = handOver(planned, { professionalId: 'b', role: 'te-expert', date: '2027-01-01' });
    expect(next.ok).toBe(true);
    if (next.ok) expect(diagnostics(next.team)).toEqual([]);
  });

  it('refuses a handover to a professional who already has the role on a later or planned period', () => {
    const later = team(
      member('a', 'own-worker', '2026-01-01'),
      member('b', 'own-worker', '2026-09-01', '2026-12-31'),
    );
    expect(
      handOver(later, { professionalId: 'b', role: 'own-worker', date: '2026-03-01', from: 'a' }),
    ).toEqual({
      ok: false,
      reason:
        'team-duplicate-member: b is in role own-worker twice over overlapping periods (members[1] and members[2])',
    });
  });

  it('endTeam keeps the rules too', () => {
    const gap = team(
      member('a', 'own-worker', '2025-01-01', '2025-03-31'),
      member('b', 'own-worker', '2025-05-01'),
    );
    expect(endTeam(gap, '2025-06-30')).toEqual({
      ok: false,
      reason:
        'team-continuity: no responsible worker from 2025-04-01 to 2025-04-30; the next one starts on 2025-05-01',
    });
  });

  it('every handover accepted from a valid team gives a valid team; from any team, one that obeys both rules', () => {
    const day = (offset: number) => new Date(Date.UTC(2024, 0, 1 + offset)).toISOString().slice(0, 10);
    const who = fc.constantFrom('a', 'b', 'c');
    const kind = fc.constantFrom(...RESPONSIBLE_WORKER_KINDS);
    const request = fc.record({
      professionalId: who,
      role: kind,
      date: fc.integer({ min: 0, max: 800 }).map(day),
      from: fc.option(who, { nil: undefined }),
    });
    const anyMember = fc.record({
      professionalId: who,
      role: fc.constantFrom(...RESPONSIBLE_WORKER_KINDS, 'doctor' as const),
      start: fc.integer({ min: 0, max: 700 }),
      length: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        who,
        kind,
        fc.array(request, { maxLength: 6 }),
        fc.array(anyMember, { minLength: 1, maxLength: 4 }),
        (first, firstKind, requests, members) => {
          // From a valid team: every team handed over to is valid.
          let t = team(member(first, firstKind, day(0)));
          for (const r of requests) {
            const res = handOver(t, r);
            if (!res.ok) continue;
            t = res.team;
            expect(diagnostics(t)).toEqual([]);
          }
          // From any team (handOver takes invalid ones too): what it gives obeys both new rules.
          const messy = team(
            ...members.map((m) =>
              member(
                m.professionalId,
                m.role,
                day(m.start),
                m.length === undefined ? undefined : day(m.start + m.length),
              ),
            ),
          );
          for (const r of requests) {
            const res = handOver(messy, r);
            if (res.ok) expect(ruleKeys(res.team)).toEqual([]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
