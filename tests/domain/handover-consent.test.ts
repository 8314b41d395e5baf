import { describe, expect, it } from 'vitest';
import {
  type Consent,
  type ResponsibleWorkerTeam,
  calendarDay,
  checkResponsibleWorkers,
  consentNotInForce,
  domainIssues,
  endTeam,
  finnishDay,
  finnishDayStart,
  handOver,
  isDisclosurePermitted,
  responsibleWorkerOn,
  responsibleWorkersOn,
} from '../../src/domain/index.ts';

const team: ResponsibleWorkerTeam = {
  id: 't1',
  clientId: 'c1',
  members: [
    { professionalId: 'nurse', role: 'patient-responsible-worker', period: { start: '2026-01-01' } },
    { professionalId: 'doc', role: 'doctor', period: { start: '2026-01-10' } },
  ],
};

describe('responsible-worker handover', () => {
  it('ends the current period the day before and starts the next', () => {
    const r = handOver(team, { professionalId: 'sc', role: 'own-worker', date: '2026-03-01' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.ended).toEqual({
      professionalId: 'nurse',
      role: 'patient-responsible-worker',
      period: { start: '2026-01-01', end: '2026-02-28' },
    });
    expect(r.started).toEqual({ professionalId: 'sc', role: 'own-worker', period: { start: '2026-03-01' } });
    expect(r.team.members).toHaveLength(3);
    expect(checkResponsibleWorkers(r.team)).toMatchObject({
      valid: true,
      reason: 'sc is the responsible worker',
    });
    expect(team.members[0]!.period.end).toBeUndefined(); // input untouched
    expect(responsibleWorkerOn(r.team, '2026-02-15')?.professionalId).toBe('nurse');
    expect(responsibleWorkerOn(r.team, '2026-03-01')?.professionalId).toBe('sc');
  });

  it('starts the first responsible worker when there is none', () => {
    const r = handOver(
      { ...team, members: [team.members[1]!] },
      { professionalId: 'sc', role: 'own-worker', date: '2026-03-01' },
    );
    expect(r).toMatchObject({ ok: true, reason: 'no current responsible worker; sc starts on 2026-03-01' });
  });

  it('a pair may share the role (DOMAIN.md): a handover then names the one handed over from', () => {
    const pair = {
      ...team,
      members: [
        ...team.members,
        { professionalId: 'te', role: 'te-expert' as const, period: { start: '2026-01-05' } },
      ],
    };
    expect(checkResponsibleWorkers(pair)).toMatchObject({
      valid: true,
      reason: 'nurse and te are the responsible workers',
    });
    expect(responsibleWorkersOn(pair, '2026-02-01').map((m) => m.professionalId)).toEqual(['nurse', 'te']);
    expect(handOver(pair, { professionalId: 'sc', role: 'own-worker', date: '2026-03-01' })).toEqual({
      ok: false,
      reason: 'team t1 has 2 current responsible workers; name the one handed over from',
    });
    expect(
      handOver(pair, { professionalId: 'sc', role: 'own-worker', date: '2026-03-01', from: 'doc' }),
    ).toEqual({ ok: false, reason: 'doc is not a current responsible worker of team t1' });
    expect(
      handOver(pair, {
        professionalId: 'nurse',
        role: 'patient-responsible-worker',
        date: '2026-03-01',
        from: 'te',
      }),
    ).toEqual({ ok: false, reason: 'nurse is already a responsible worker' });
    const r = handOver(pair, { professionalId: 'sc', role: 'own-worker', date: '2026-03-01', from: 'te' });
    expect(r).toMatchObject({
      ok: true,
      ended: { professionalId: 'te', period: { start: '2026-01-05', end: '2026-02-28' } },
    });
    if (!r.ok) return;
    expect(responsibleWorkersOn(r.team, '2026-03-01').map((m) => m.professionalId)).toEqual(['nurse', 'sc']);
    expect(responsibleWorkersOn(r.team, '2026-02-28').map((m) => m.professionalId)).toEqual(['nurse', 'te']);
  });

  it('hands over from a worker whose planned end is still ahead, bringing the end forward', () => {
    const planned: ResponsibleWorkerTeam = {
      id: 't2',
      clientId: 'c1',
      members: [
        { professionalId: 'a', role: 'own-worker', period: { start: '2026-01-10', end: '2026-12-31' } },
      ],
    };
    const r = handOver(planned, { professionalId: 'b', role: 'te-expert', date: '2026-03-01' });
    expect(r).toMatchObject({
      ok: true,
      ended: { professionalId: 'a', period: { start: '2026-01-10', end: '2026-02-28' } },
      reason: 'a hands over to b: period ends 2026-02-28, next starts 2026-03-01',
    });
    if (!r.ok) return;
    expect(responsibleWorkerOn(r.team, '2026-06-01')?.professionalId).toBe('b');
    expect(responsibleWorkerOn(r.team, '2026-02-28')?.professionalId).toBe('a');
    expect(checkResponsibleWorkers(r.team).valid).toBe(true);
    // A period that ended before the handover is history, not handed over from: the next one starts
    // the day after it (a later start would leave days with nobody responsible, team-continuity).
    const past = handOver(planned, { professionalId: 'b', role: 'te-expert', date: '2027-01-01' });
    expect(past).toMatchObject({ ok: true, reason: 'no current responsible worker; b starts on 2027-01-01' });
    expect(handOver(planned, { professionalId: 'b', role: 'te-expert', date: '2027-02-01' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^team-continuity: /),
    });
  });
  it('refuses a handover dated on or before the current start', () => {
    expect(handOver(team, { professionalId: 'sc', role: 'own-worker', date: '2026-01-01' })).toEqual({
      ok: false,
      reason: "handover on 2026-01-01 is not after the current period's start 2026-01-01",
    });
  });

  it('refuses a handover to the current worker', () => {
    expect(
      handOver(team, { professionalId: 'nurse', role: 'patient-responsible-worker', date: '2026-02-01' }),
    ).toEqual({
      ok: false,
      reason: 'nurse is already the responsible worker',
    });
  });

  it('refuses a role that is not a responsible-worker kind', () => {
    expect(handOver(team, { professionalId: 'doc', role: 'doctor' as never, date: '2026-02-01' })).toEqual({
      ok: false,
      reason: "role 'doctor' is not a responsible-worker kind",
    });
  });

  it('no current responsible worker is invalid too', () => {
    expect(checkResponsibleWorkers({ ...team, members: [team.members[1]!] })).toEqual({
      valid: false,
      rule: 'tyk-ctm-1',
      field: 'members',
      reason: 'no current responsible worker; at least one required',
    });
  });
});

describe('the client relationship ends (endTeam)', () => {
  it('ends every running period on the day and marks the team ended; no current worker is needed then', () => {
    const withPlannedEnd = {
      ...team,
      members: [
        ...team.members,
        {
          professionalId: 'te',
          role: 'te-expert' as const,
          period: { start: '2026-01-05', end: '2026-12-31' },
        },
        {
          professionalId: 'old',
          role: 'own-worker' as const,
          period: { start: '2025-01-01', end: '2025-12-31' },
        },
      ],
    };
    const r = endTeam(withPlannedEnd, '2026-06-30');
    expect(r).toMatchObject({ ok: true, reason: 'team t1 ended on 2026-06-30' });
    if (!r.ok) return;
    expect(r.team.ended).toBe('2026-06-30');
    expect(r.team.members.map((m) => m.period.end)).toEqual([
      '2026-06-30',
      '2026-06-30',
      '2026-06-30',
      '2025-12-31', // an earlier end is kept
    ]);
    expect(withPlannedEnd.members[0]!.period.end).toBeUndefined(); // input untouched
    expect(checkResponsibleWorkers(r.team)).toEqual({
      valid: true,
      reason: 'the team ended on 2026-06-30',
      current: [],
    });
    expect(domainIssues('team', r.team)).toEqual([]);
    // History stays readable: who was responsible on a day before the end.
    expect(responsibleWorkersOn(r.team, '2026-03-01').map((m) => m.professionalId)).toEqual(['nurse', 'te']);
    expect(responsibleWorkersOn(r.team, '2026-07-01')).toEqual([]);
  });

  it('refuses a second end, an end before a period began, and a handover after the end', () => {
    const ended = endTeam(team, '2026-06-30');
    if (!ended.ok) throw new Error(ended.reason);
    expect(endTeam(ended.team, '2026-07-31')).toEqual({
      ok: false,
      reason: 'team t1 already ended on 2026-06-30',
    });
    expect(endTeam(team, '2026-01-09')).toEqual({
      ok: false,
      reason: "doc's period begins after 2026-01-09",
    });
    expect(handOver(ended.team, { professionalId: 'sc', role: 'own-worker', date: '2026-08-01' })).toEqual({
      ok: false,
      reason: 'team t1 ended on 2026-06-30',
    });
  });

  it('refuses a day that does not exist or is not a day, and an end after today (a planned end is not an ended relationship)', () => {
    const notADay = 'date: not a calendar day — expected YYYY-MM-DD, a dateTime or a valid Date';
    for (const date of ['2026-02-30', 'banana', '2026-3-1', '2026-06', '2026-06-30T12'])
      expect(endTeam(team, date), date).toEqual({ ok: false, reason: notADay });
    expect(endTeam(team, '2099-01-01')).toEqual({
      ok: false,
      reason: '2099-01-01 is in the future; a team ends on or before today',
    });
    for (const date of ['2026-02-30', 'banana'])
      expect(handOver(team, { professionalId: 'sc', role: 'own-worker', date }), date).toEqual({
        ok: false,
        reason: notADay,
      });
    // A zoned instant is its day in Finland: 22:30 UTC on 28 Feb is 1 March in Helsinki.
    const r = handOver(team, { professionalId: 'sc', role: 'own-worker', date: '2026-02-28T22:30:00Z' });
    expect(r).toMatchObject({ ok: true, started: { period: { start: '2026-03-01' } } });
    expect(() => responsibleWorkersOn(team, '2026-13-01')).toThrow(new RangeError(notADay));
  });

  it('an ended team with a period still open or running past the end (both tyk-ctm-2) is invalid', () => {
    const open = { ...team, ended: '2026-06-30' };
    expect(checkResponsibleWorkers(open)).toEqual({
      valid: false,
      rule: 'tyk-ctm-2',
      field: 'members',
      reason: 'the team ended on 2026-06-30, but the period of nurse and doc has no end',
    });
    expect(domainIssues('team', open).map((i) => [i.expression?.[0], i.diagnostics])).toEqual([
      [
        'ResponsibleWorkerTeam.members',
        'tyk-ctm-2: ResponsibleWorkerTeam.members: the team ended on 2026-06-30, but the period of nurse and doc has no end',
      ],
    ]);
    const late = {
      ...team,
      ended: '2026-06-30',
      members: team.members.map((m, i) => ({
        ...m,
        period: { ...m.period, end: i ? '2026-07-01' : '2026-06-30' },
      })),
    };
    expect(checkResponsibleWorkers(late)).toEqual({
      valid: false,
      rule: 'tyk-ctm-2',
      field: 'members',
      reason: 'the team ended on 2026-06-30, but the period of doc ends after it',
    });
    // A team posted as ended on a day still to come is refused as endTeam refuses it.
    const future = {
      ...late,
      ended: '2099-01-01',
      members: late.members.map((m) => ({ ...m, period: { ...m.period, end: '2098-12-31' } })),
    };
    expect(checkResponsibleWorkers(future)).toEqual({
      valid: false,
      rule: 'team-ended',
      field: 'ended',
      reason: '2099-01-01 is in the future; a team ends on or before today',
    });
    expect(domainIssues('team', future)[0]?.expression).toEqual(['ResponsibleWorkerTeam.ended']);
  });
});

const consent: Consent = {
  id: 'k1',
  clientId: 'c1',
  date: '2026-01-10',
  parties: ['kela', 'kuntakokeilu'],
  dataClasses: ['work-ability-assessment', 'support-plan'],
  period: { start: '2026-01-10', end: '2026-12-31' },
  organizationId: 'o1',
};

describe('isDisclosurePermitted', () => {
  it('permits a named party and data class within the period', () => {
    expect(isDisclosurePermitted([consent], 'kela', 'support-plan', '2026-06-01')).toEqual({
      permitted: true,
      reason: "consent k1 permits 'kela' to receive 'support-plan' on 2026-06-01",
      consentId: 'k1',
    });
  });
  it('accepts a Date and the last day of the period', () => {
    expect(
      isDisclosurePermitted([consent], 'kela', 'support-plan', new Date('2026-12-31T12:00:00Z')).permitted,
    ).toBe(true);
  });
  it.each([
    ['te-services', 'support-plan', '2026-06-01', "consent k1 does not name party 'te-services'"],
    ['kela', 'health-data', '2026-06-01', "consent k1 does not cover data class 'health-data'"],
    ['kela', 'support-plan', '2026-01-09', 'consent k1 is valid only from 2026-01-10'],
    ['kela', 'support-plan', '2027-01-01', 'consent k1 expired on 2026-12-31'],
  ] as const)('refuses %s / %s on %s', (party, dataClass, date, reason) => {
    expect(isDisclosurePermitted([consent], party, dataClass, date)).toEqual({
      permitted: false,
      reason,
      consentId: 'k1',
    });
  });
  it('reads an instant as its day in Finland: a consent starts and ends on Finnish calendar days', () => {
    // 00:30 on 10 January in Helsinki is 9 January in UTC.
    expect(
      isDisclosurePermitted([consent], 'kela', 'support-plan', new Date('2026-01-09T22:30:00Z')),
    ).toEqual({
      permitted: true,
      reason: "consent k1 permits 'kela' to receive 'support-plan' on 2026-01-10",
      consentId: 'k1',
    });
    expect(isDisclosurePermitted([consent], 'kela', 'support-plan', '2026-01-09T22:30:00Z').permitted).toBe(
      true,
    );
    expect(
      isDisclosurePermitted([consent], 'kela', 'support-plan', '2026-01-10T00:30:00+02:00').permitted,
    ).toBe(true);
    // 01:00 on 1 January 2027 in Helsinki (summer or winter) is past the end, although UTC is still in 2026.
    expect(
      isDisclosurePermitted([consent], 'kela', 'support-plan', new Date('2026-12-31T23:00:00Z')),
    ).toEqual({
      permitted: false,
      reason: 'consent k1 expired on 2026-12-31',
      consentId: 'k1',
    });
    const withdrawn = { ...consent, withdrawnOn: '2026-06-01' };
    expect(
      isDisclosurePermitted([withdrawn], 'kela', 'support-plan', new Date('2026-05-31T22:00:00Z')).reason,
    ).toBe('consent k1 was withdrawn on 2026-06-01');
    // A dateTime without a zone is read as written.
    expect(isDisclosurePermitted([consent], 'kela', 'support-plan', '2026-01-09T23:30:00').permitted).toBe(
      false,
    );
  });
  it('finnishDay follows Helsinki across both daylight-saving changes', () => {
    expect(finnishDay(new Date('2026-03-28T21:59:59Z'))).toBe('2026-03-28'); // UTC+2, 23:59:59
    expect(finnishDay(new Date('2026-03-28T22:00:00Z'))).toBe('2026-03-29');
    expect(finnishDay(new Date('2026-07-15T20:59:59Z'))).toBe('2026-07-15'); // UTC+3, 23:59:59
    expect(finnishDay(new Date('2026-07-15T21:00:00Z'))).toBe('2026-07-16');
    expect(finnishDay('2026-07-15')).toBe('2026-07-15');
    expect(finnishDay()).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
  it('a leap second (second 60) is in the day of its minute, in Helsinki as anywhere', () => {
    // 23:59:60Z on 31 Dec 2016 is 01:59:60 on 1 Jan 2017 in Helsinki, as 23:59:59Z is.
    const leap = '2016-12-31T23:59:60Z';
    expect(finnishDay(leap)).toBe('2017-01-01');
    expect(calendarDay(leap)).toBe('2017-01-01');
    expect(calendarDay('2026-06-30T23:59:60+00:00')).toBe('2026-07-01');
    expect(calendarDay('2026-06-30T20:59:60.5+03:00')).toBe('2026-06-30');
    expect(calendarDay('2016-12-31T23:59:61Z')).toBeUndefined();
    const given = { ...consent, date: '2017-01-01', period: { start: '2017-01-01' } };
    expect(isDisclosurePermitted([given], 'kela', 'support-plan', leap)).toEqual({
      permitted: true,
      reason: "consent k1 permits 'kela' to receive 'support-plan' on 2017-01-01",
      consentId: 'k1',
    });
  });
  it('finnishDayStart is midnight in Helsinki, on the days the clocks change too', () => {
    expect(finnishDayStart('2026-01-15').toISOString()).toBe('2026-01-14T22:00:00.000Z');
    expect(finnishDayStart('2026-07-15').toISOString()).toBe('2026-07-14T21:00:00.000Z');
    // The clocks go forward at 03:00 on 29 March and back at 04:00 on 25 October.
    expect(finnishDayStart('2026-03-29').toISOString()).toBe('2026-03-28T22:00:00.000Z');
    expect(finnishDayStart('2026-03-30').toISOString()).toBe('2026-03-29T21:00:00.000Z');
    expect(finnishDayStart('2026-10-25').toISOString()).toBe('2026-10-24T21:00:00.000Z');
    expect(finnishDayStart('2026-10-26').toISOString()).toBe('2026-10-25T22:00:00.000Z');
    expect(() => finnishDayStart('2026-02-30')).toThrow(RangeError);
    expect(() => finnishDayStart('2026-2-3')).toThrow(RangeError);
    // Before 1921 Helsinki kept local mean time, 1:39:49 ahead of UTC.
    expect(finnishDayStart('1900-01-01').toISOString()).toBe('1899-12-31T22:20:11.000Z');
    expect(finnishDayStart('0001-01-01').toISOString()).toBe('0000-12-31T22:20:11.000Z');
    expect(finnishDay(new Date('0001-06-01T12:00:00Z'))).toBe('0001-06-01');
  });
  it('refuses from the day of withdrawal, permits the day before', () => {
    const withdrawn = { ...consent, withdrawnOn: '2026-05-01' };
    expect(isDisclosurePermitted([withdrawn], 'kela', 'support-plan', '2026-05-01')).toEqual({
      permitted: false,
      reason: 'consent k1 was withdrawn on 2026-05-01',
      consentId: 'k1',
    });
    expect(isDisclosurePermitted([withdrawn], 'kela', 'support-plan', '2026-04-30').permitted).toBe(true);
  });
  it('names as the nearest consent the one for that party and class, even when an earlier one fails on its dates', () => {
    const other = {
      id: 'old-other',
      parties: ['te-services' as const],
      dataClasses: ['employment-history' as const],
      period: { start: '2024-01-01' },
      withdrawnOn: '2025-01-01',
    };
    const expired = {
      id: 'kela-health',
      parties: ['kela' as const],
      dataClasses: ['health-data' as const],
      period: { start: '2024-01-01', end: '2025-12-31' },
    };
    expect(isDisclosurePermitted([other, expired], 'kela', 'health-data', '2026-06-01')).toEqual({
      permitted: false,
      reason: 'consent old-other was withdrawn on 2025-01-01; consent kela-health expired on 2025-12-31',
      consentId: 'kela-health',
    });
  });
  it('refuses to answer for a day that does not exist or is not a day (no string compare of junk)', () => {
    const notADay = new RangeError(
      'date: not a calendar day — expected YYYY-MM-DD, a dateTime or a valid Date',
    );
    // Inside the period as strings: each would have been permitted.
    for (const date of ['2026-03-99', '2026-04-31', '2026-06', 'banana', '2026-03-01T25', ''])
      expect(() => isDisclosurePermitted([consent], 'kela', 'support-plan', date), date).toThrow(notADay);
    expect(() => isDisclosurePermitted([consent], 'kela', 'support-plan', new Date('x'))).toThrow(notADay);
    expect(() => consentNotInForce(consent, '2026-02-30')).toThrow(notADay);
  });
  it('without consents the answer is no', () => {
    expect(isDisclosurePermitted([], 'kela', 'support-plan', '2026-06-01')).toEqual({
      permitted: false,
      reason: 'no consent recorded',
    });
  });
  it('a later consent permits what an earlier withdrawn one no longer does', () => {
    const later = { ...consent, id: 'k2', date: '2026-05-02', period: { start: '2026-05-02' } };
    const r = isDisclosurePermitted(
      [{ ...consent, withdrawnOn: '2026-05-01' }, later],
      'kela',
      'support-plan',
      '2026-06-01',
    );
    expect(r).toMatchObject({ permitted: true, consentId: 'k2' });
  });
  it('points at the nearest consent when none permits', () => {
    const other = { ...consent, id: 'k0', parties: ['typ' as const] };
    const r = isDisclosurePermitted(
      [other, { ...consent, withdrawnOn: '2026-02-01' }],
      'kela',
      'support-plan',
      '2026-06-01',
    );
    expect(r.consentId).toBe('k1');
    expect(r.reason).toBe("consent k0 does not name party 'kela'; consent k1 was withdrawn on 2026-02-01");
  });
});
