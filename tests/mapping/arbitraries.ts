/** fast-check generators of valid domain records (used by the round-trip property and bench/map). */
import fc from 'fast-check';
import {
  CARE_TEAM_ROLES,
  CLIENT_SITUATIONS,
  CONSENT_DATA_CLASSES,
  CONSENT_PARTIES,
  type Client,
  ONWARD_PATHS,
  PHASES,
  PLAN_CATEGORIES,
  RESPONSIBLE_WORKER_KINDS,
  type ResponsibleWorkerTeam,
  TRIGGERS,
  WORK_ABILITY_SERVICES,
  type WorkAbilityRecord,
  consentNotInForce,
  endTeam,
  finnishDay,
  lastDayAfterMonths,
  makeHetu,
} from '../../src/domain/index.ts';

const DAY = 86_400_000;
const BASE = Date.UTC(2020, 0, 1);
/** An ISO date between 2020-01-01 and ~2027. */
const dateArb = fc
  .integer({ min: 0, max: 2600 })
  .map((d) => new Date(BASE + d * DAY).toISOString().slice(0, 10));
/** A day a consent was given: from 2020-01-01 to today (domain rule consent-given). */
const givenArb = fc
  .integer({ min: 0, max: Math.floor((Date.parse(finnishDay()) - BASE) / DAY) })
  .map((d) => new Date(BASE + d * DAY).toISOString().slice(0, 10));
const birthDateArb = fc
  .integer({ min: -36_000, max: 2_000 })
  .map((d) => new Date(Date.UTC(1980, 0, 1) + d * DAY).toISOString().slice(0, 10));
const WORDS = [
  'työkyky',
  'arki',
  'Åbo',
  'päivä',
  'A&B',
  '<tavoite>',
  'verstas',
  '"lainaus"',
  'kuntoutus',
  'opinnot',
  'ÄÖå',
];
const textArb = fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 5 }).map((w) => w.join(' '));
const nameArb = fc.stringMatching(/^[A-ZÄÖ][a-zäöå]{1,10}$/);
const scoreArb = fc.integer({ min: 0, max: 10 });
const localIdArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9.-]{0,20}$/);

function subset<T>(items: readonly T[], min = 0) {
  return fc.subarray([...items], { minLength: min });
}
function opt<T>(arb: fc.Arbitrary<T>) {
  return fc.option(arb, { nil: undefined });
}
/** The members without a later entry of a professional already in that role. */
function onceInEachRole<M extends { professionalId: string; role: string }>(members: M[]): M[] {
  const seen = new Set<string>();
  return members.filter((m) => {
    const key = `${m.professionalId} ${m.role}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Drops undefined members so the object looks like JSON read back. */
function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
function period(start: string, days: number | undefined) {
  return clean({
    start,
    end: days === undefined ? undefined : new Date(Date.parse(start) + days * DAY).toISOString().slice(0, 10),
  });
}

/** A withdrawal `days` after `given`; none when that day is still to come (it is not yet made). */
function withdrawal(given: string, days: number | undefined): string | undefined {
  const on = days === undefined ? undefined : period(given, days).end;
  return on !== undefined && on <= finnishDay() ? on : undefined;
}

const CENTURY_SIGNS = {
  18: ['+'],
  19: ['-', 'Y', 'X', 'W', 'V', 'U'],
  20: ['A', 'B', 'C', 'D', 'E', 'F'],
} as const;

export const clientArb: fc.Arbitrary<Client> = fc
  .record({
    id: localIdArb,
    useHetu: fc.boolean(),
    birth: birthDateArb,
    individual: fc.integer({ min: 900, max: 999 }),
    signIndex: fc.nat(5),
    temp: fc.boolean(),
    family: nameArb,
    given: fc.array(nameArb, { maxLength: 2 }),
    gender: opt(
      fc.constantFrom('female', 'male', 'other', 'unknown') as fc.Arbitrary<Client['gender'] & string>,
    ),
    municipality: opt(fc.stringMatching(/^\d{3}$/)),
    nonDisclosure: opt(fc.constant(true as const)),
  })
  .map((r) => {
    const century = Number(r.birth.slice(0, 2)) as 18 | 19 | 20;
    const signs = CENTURY_SIGNS[century];
    const hetu = r.useHetu ? makeHetu(r.birth, r.individual, signs[r.signIndex % signs.length]) : undefined;
    const temporaryId =
      !r.useHetu || r.temp
        ? { system: 'urn:oid:1.2.246.10.1234567.10.1', value: `T-${r.individual}` }
        : undefined;
    return clean({
      id: r.id,
      hetu,
      temporaryId,
      name: { family: r.family, given: r.given },
      birthDate: hetu ? undefined : r.birth,
      gender: r.gender,
      municipality: r.municipality,
      nonDisclosure: r.nonDisclosure,
    });
  });

/** A valid record: every reference resolves, ids unique per kind, rules respected. */
export const recordArb: fc.Arbitrary<WorkAbilityRecord> = fc
  .record({
    client: clientArb,
    orgCount: fc.integer({ min: 1, max: 3 }),
    orgs: fc.array(
      fc.record({ name: textArb, party: opt(fc.constantFrom(...CONSENT_PARTIES)), oid: fc.boolean() }),
      { minLength: 3, maxLength: 3 },
    ),
    pros: fc.array(
      fc.record({
        name: textArb,
        role: fc.constantFrom(...CARE_TEAM_ROLES),
        org: fc.nat(2),
        ident: fc.boolean(),
      }),
      {
        minLength: 1,
        maxLength: 3,
      },
    ),
    selfs: fc.array(
      fc.record({
        id: fc.uuid({ version: 4 }),
        date: dateArb,
        overall: scoreArb,
        mentalWellbeing: opt(scoreArb),
        socialParticipation: opt(scoreArb),
        physicalFunctioning: opt(scoreArb),
        competence: opt(scoreArb),
        everydayLife: opt(scoreArb),
      }),
      { maxLength: 2 },
    ),
    assessments: fc.array(
      fc.record({
        date: dateArb,
        assessor: fc.nat(2),
        selfScore: opt(scoreArb),
        professionalScore: opt(scoreArb),
        phase: fc.constantFrom(...PHASES),
        situation: fc.constantFrom(...CLIENT_SITUATIONS),
        triggers: subset(TRIGGERS),
        rehabilitationNeed: fc.boolean(),
        mismatch: opt(fc.boolean()),
        useSelf: fc.boolean(),
        note: opt(textArb),
      }),
      { maxLength: 2 },
    ),
    consents: fc.array(
      fc.record({
        date: givenArb,
        parties: subset(CONSENT_PARTIES, 1),
        dataClasses: subset(CONSENT_DATA_CLASSES, 1),
        days: opt(fc.integer({ min: 0, max: 900 })),
        withdrawAfter: opt(fc.integer({ min: 0, max: 400 })),
        org: fc.nat(2),
      }),
      { maxLength: 2 },
    ),
    teams: fc.array(
      fc.record({
        name: opt(textArb),
        start: dateArb,
        kind: fc.constantFrom(...RESPONSIBLE_WORKER_KINDS),
        past: fc.array(
          fc.record({ role: fc.constantFrom(...CARE_TEAM_ROLES), days: fc.integer({ min: 0, max: 300 }) }),
          { maxLength: 2 },
        ),
        others: fc.array(
          fc.constantFrom('doctor', 'job-coach', 'psychologist', 'kela-worker') as fc.Arbitrary<'doctor'>,
          { maxLength: 2 },
        ),
        /** The client relationship ends this many days after the start (endTeam). */
        endAfter: opt(fc.integer({ min: 0, max: 400 })),
      }),
      { maxLength: 1 },
    ),
    plans: fc.array(
      fc.record({
        category: fc.constantFrom(...PLAN_CATEGORIES),
        status: fc.constantFrom('draft', 'active', 'completed', 'revoked') as fc.Arbitrary<'active'>,
        created: dateArb,
        days: opt(fc.integer({ min: 0, max: 900 })),
        title: opt(textArb),
        goals: fc.array(fc.record({ description: textArb, due: opt(dateArb), achieved: opt(fc.boolean()) }), {
          minLength: 1,
          maxLength: 3,
        }),
        activities: fc.array(
          fc.record({
            service: fc.constantFrom(...WORK_ABILITY_SERVICES),
            description: opt(textArb),
            days: opt(fc.integer({ min: 1, max: 4 })),
            months: opt(fc.integer({ min: 3, max: 24 })),
            performer: opt(fc.nat(2)),
            onwardPath: opt(fc.constantFrom(...ONWARD_PATHS)),
          }),
          { maxLength: 3 },
        ),
        followUp: opt(dateArb),
        useAssessment: fc.boolean(),
        useTeam: fc.boolean(),
      }),
      { maxLength: 2 },
    ),
    referrals: fc.array(
      fc.record({
        service: fc.constantFrom(
          ...WORK_ABILITY_SERVICES.filter((s) => s !== 'helsinki-work-ability-support'),
        ),
        reasons: subset(TRIGGERS),
        note: opt(textArb),
        requester: fc.nat(2),
      }),
      { maxLength: 2 },
    ),
  })
  .map((g) => {
    const cid = g.client.id;
    const organizations = g.orgs.slice(0, g.orgCount).map((o, i) =>
      clean({
        id: `org-${i}`,
        name: o.name,
        identifier: o.oid ? { system: 'urn:oid:1.2.246.10.2', value: `1.2.246.10.${i}` } : undefined,
        party: o.party,
      }),
    );
    const orgId = (n: number) => `org-${n % organizations.length}`;
    const professionals = g.pros.map((p, i) =>
      clean({
        id: `pro-${i}`,
        name: p.name,
        role: p.role,
        organizationId: orgId(p.org),
        identifier: p.ident ? { system: 'urn:oid:1.2.246.537.26', value: `R${i}` } : undefined,
      }),
    );
    const proId = (n: number) => `pro-${n % professionals.length}`;
    const selfAssessments = g.selfs.map((s) => clean({ ...s, clientId: cid }));
    const assessments = g.assessments.map((a, i) =>
      clean({
        id: `as-${i}`,
        clientId: cid,
        date: a.date,
        assessorId: proId(a.assessor),
        selfScore: a.selfScore,
        professionalScore: a.professionalScore,
        phase: a.phase,
        situation: a.situation,
        triggers: a.triggers,
        rehabilitationNeed: a.rehabilitationNeed,
        mismatch: a.mismatch,
        selfAssessmentId: a.useSelf && selfAssessments.length ? selfAssessments[0]!.id : undefined,
        note: a.note,
      }),
    );
    const consents = g.consents.map((c, i) =>
      clean({
        id: `con-${i}`,
        clientId: cid,
        date: c.date,
        parties: c.parties,
        dataClasses: c.dataClasses,
        period: period(c.date, c.days),
        withdrawnOn: withdrawal(c.date, c.withdrawAfter),
        organizationId: orgId(c.org),
      }),
    );
    const teams = g.teams.map((t, i) => {
      const past = t.past.map((p, j) => ({
        professionalId: proId(j),
        role: p.role,
        period: period(t.start, p.days) as { start: string; end: string },
      }));
      const team = clean({
        id: `team-${i}`,
        clientId: cid,
        name: t.name,
        // Every member starts on the team's day: one professional once in a role (team-duplicate-member),
        // the current responsible worker before a past entry of theirs in the same role.
        members: onceInEachRole([
          { professionalId: proId(0), role: t.kind, period: { start: t.start } },
          ...t.others.map((role, j) => ({ professionalId: proId(j + 1), role, period: { start: t.start } })),
          ...past,
        ]),
      }) as ResponsibleWorkerTeam;
      const end = t.endAfter === undefined ? undefined : (period(t.start, t.endAfter).end as string);
      // A relationship ends on or before today (a later end is only planned).
      if (end === undefined || end > finnishDay()) return team;
      const ended = endTeam(team, end);
      if (!ended.ok) throw new Error(ended.reason);
      return ended.team;
    });
    const plans = g.plans.map((p, i) =>
      clean({
        id: `plan.${i}`,
        clientId: cid,
        category: p.category,
        status: p.status,
        created: p.created,
        period: period(p.created, p.days),
        authorId: proId(0),
        title: p.title,
        goals: p.goals.map((goal, j) =>
          clean({ id: `g.${j}`, description: goal.description, dueDate: goal.due, achieved: goal.achieved }),
        ),
        activities: withinAWeek(p.activities).map((a) => {
          const rwa = a.service === 'rehabilitative-work-activity';
          const months = a.months ?? (rwa ? 6 : undefined);
          return clean({
            service: a.service,
            description: a.description,
            daysPerWeek: rwa ? a.days : undefined,
            period:
              months === undefined
                ? undefined
                : { start: p.created, end: lastDayAfterMonths(p.created, months) },
            performerId: a.performer === undefined ? undefined : proId(a.performer),
            onwardPath: a.onwardPath,
          });
        }),
        followUpDate: p.followUp,
        assessmentId: p.useAssessment && assessments.length ? assessments[0]!.id : undefined,
        teamId: p.useTeam && teams.length ? teams[0]!.id : undefined,
      }),
    );
    // A referral carries a consent in force on its date (domain rule referral-consent): dated on the
    // first consent's first day, and only when that consent was not withdrawn the same day.
    const attached = consents[0];
    const referrals =
      attached && !consentNotInForce(attached, attached.period.start)
        ? g.referrals.map((r, i) =>
            clean({
              id: `ref-${i}`,
              clientId: cid,
              service: r.service,
              requesterId: proId(r.requester),
              date: attached.period.start,
              reasons: r.reasons,
              consentId: attached.id,
              note: r.note,
            }),
          )
        : [];
    return clean({
      client: g.client,
      organizations,
      professionals,
      selfAssessments: selfAssessments.length ? selfAssessments : undefined,
      assessments: assessments.length ? assessments : undefined,
      consents: consents.length ? consents : undefined,
      teams: teams.length ? teams : undefined,
      plans: plans.length ? plans : undefined,
      referrals: referrals.length ? referrals : undefined,
    }) as WorkAbilityRecord;
  });

/**
 * The activities a plan can hold: every one starts on the plan's day, so the days a week of its
 * rehabilitative work activities add up (tyk-rwa-3: at most 4 in all); one that would pass that is
 * left out. Each kept one has its days (2 when the draw gave none).
 */
function withinAWeek<T extends { service: string; days?: number | undefined }>(activities: T[]): T[] {
  let used = 0;
  return activities.flatMap((a) => {
    if (a.service !== 'rehabilitative-work-activity') return [a];
    const days = a.days ?? 2;
    if (used + days > 4) return [];
    used += days;
    return [{ ...a, days }];
  });
}
