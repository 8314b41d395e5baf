// The domain API's per-client rules against stored data, on a listening server: one active
// responsible-worker team per client (one-active-team) and a client's rehabilitative work activity in
// all (tyk-rwa-3) hold against concurrent writes (checked and written in one transaction under the
// client's lock, PGlite and PostgreSQL), and against the client's stored objects matched by business
// identifier (a team re-sent under its carried id is the team stored, not a second one).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sirpa } from '../../examples/tools/personas.ts';
import type { SupportPlan, WorkAbilityRecord } from '../../src/domain/index.ts';
import { businessUuid, fromFhir, localIdSystem } from '../../src/mapping/index.ts';
import { projectPath } from '../../src/shared/project-files.ts';
import { freshPgliteDataDir } from '../../src/store/index.ts';
import { dropDatabase, freshDatabase } from '../helpers/databases.ts';
import { startFacadeHere } from '../helpers/facade.ts';
import { type Fixture, openFixture } from './helpers.ts';

interface Running {
  url: string;
  close(): Promise<void>;
}

async function listening(fx: Fixture): Promise<Running> {
  const server: Server = fx.app().listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Answer {
  status: number;
  issue?: OperationOutcomeIssue[];
}

async function post(url: string, body: unknown): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { issue?: OperationOutcomeIssue[] };
  return { status: res.status, ...(json.issue ? { issue: json.issue } : {}) };
}

/** Sirpa's record without the objects these tests write themselves. */
function sirpaAlone(): WorkAbilityRecord {
  const record = structuredClone(sirpa);
  for (const k of ['plans', 'referrals', 'assessments', 'selfAssessments', 'consents', 'teams'] as const)
    delete record[k];
  return record;
}

/** An active activation plan of Sirpa's with one rehabilitative work activity of `days` a week. */
function activationPlan(id: string, days: number): SupportPlan {
  const { assessmentId: _a, teamId: _t, ...base } = sirpa.plans![0]!;
  return {
    ...base,
    id,
    category: 'activation-plan',
    activities: [
      {
        service: 'rehabilitative-work-activity',
        daysPerWeek: days,
        period: { start: '2025-05-01', end: '2026-03-14' },
        performerId: 'sc-virta',
      },
    ],
  };
}

async function activeCareTeams(url: string): Promise<number> {
  const q = encodeURIComponent(`${localIdSystem('client')}|sirpa`);
  const patients = (await (await fetch(`${url}/fhir/Patient?identifier=${q}`)).json()) as Bundle;
  const pid = patients.entry?.[0]?.resource?.id;
  const teams = (await (
    await fetch(`${url}/fhir/CareTeam?patient=Patient/${pid}&status=active`)
  ).json()) as Bundle;
  return teams.entry?.length ?? 0;
}

function races(engine: string, open: () => Promise<{ url: string; close(): Promise<void> }>) {
  describe(`concurrent writes of one client's objects (${engine})`, () => {
    let srv: { url: string; close(): Promise<void> };
    beforeAll(async () => {
      srv = await open();
      expect((await post(`${srv.url}/api/records`, sirpaAlone())).status).toBe(201);
    }, 60_000);
    afterAll(async () => srv?.close());

    it('four new active teams at once: one 201, three 409 one-active-team; the winner re-sent is 200', async () => {
      const team = sirpa.teams![0]!;
      const sent = [0, 1, 2, 3].map((i) => ({ ...team, id: `sirpa-team-${i}` }));
      const answers = await Promise.all(sent.map((t) => post(`${srv.url}/api/teams`, t)));
      expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409]);
      for (const a of answers.filter((x) => x.status === 409))
        expect(a.issue?.[0]?.diagnostics).toMatch(/^one-active-team: ResponsibleWorkerTeam\.clientId: /);
      expect(await activeCareTeams(srv.url)).toBe(1);
      const winner = sent[answers.findIndex((a) => a.status === 201)];
      expect((await post(`${srv.url}/api/teams`, winner)).status).toBe(200);
    });

    it('two activation plans of 3 days each at once: one 201, the other 400 tyk-rwa-3', async () => {
      const answers = await Promise.all(
        ['race-a', 'race-b'].map((id) => post(`${srv.url}/api/plans`, activationPlan(id, 3))),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([201, 400]);
      const refused = answers.find((a) => a.status === 400)!;
      expect(refused.issue?.[0]?.expression).toEqual(['SupportPlan.activities[0].daysPerWeek']);
      expect(refused.issue?.[0]?.diagnostics).toMatch(
        /^tyk-rwa-3: SupportPlan\.activities\[0\]\.daysPerWeek: /,
      );
    });
  });
}

/** The facade as `tyokyky serve` starts it, listening in this process; its API's base URL. */
async function serving(database: string | { dataDir: string }, cleanUp: () => Promise<void>) {
  try {
    const facade = await startFacadeHere(database);
    return {
      url: facade.url.replace(/\/fhir$/, ''),
      close: async () => {
        await facade.stop();
        await cleanUp();
      },
    };
  } catch (err) {
    await cleanUp();
    throw err;
  }
}

races('PGlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tyokyky-domain-lock-'));
  return serving({ dataDir: await freshPgliteDataDir(dir) }, async () =>
    rmSync(dir, { recursive: true, force: true }),
  );
});
races('PostgreSQL', async () => {
  const databaseUrl = await freshDatabase('tyokyky_domain_lock');
  return serving(databaseUrl, () => dropDatabase(databaseUrl));
});

describe("a client's stored objects, matched by business identifier (PGlite)", () => {
  let fx: Fixture;
  let srv: Running;
  beforeAll(async () => {
    fx = await openFixture();
    srv = await listening(fx);
    expect((await post(`${srv.url}/api/records`, sirpa)).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await srv?.close();
    await fx?.close();
  });

  it("the record read back under another sender's local-id systems (carried ids) is 200, not a second team", async () => {
    const bundle = JSON.parse(readFileSync(projectPath('examples/personas/sirpa.json'), 'utf8')) as Bundle;
    const record = fromFhir(bundle, { localIdSystemBase: 'https://vendor-b.example/ids' });
    const team = record.teams![0]!;
    expect(team.id).toBe(`urn.uuid.${businessUuid('team', 'sirpa-team')}`);
    const res = await post(`${srv.url}/api/records`, record);
    expect(res.status, JSON.stringify(res.issue)).toBe(200);
  });

  it('the team re-sent under its carried id is 200', async () => {
    const team = { ...sirpa.teams![0]!, id: `urn.uuid.${businessUuid('team', 'sirpa-team')}` };
    const res = await post(`${srv.url}/api/teams`, team);
    expect(res.status, JSON.stringify(res.issue)).toBe(200);
  });

  it('an activation plan sent alone is held to tyk-rwa-3 with the stored ones; re-sent, it replaces its stored version', async () => {
    const a = activationPlan('rwa-a', 3);
    const b = activationPlan('rwa-b', 3);
    const inRecord = await post(`${srv.url}/api/records`, { ...sirpa, plans: [a, b] });
    expect(inRecord.status).toBe(400);
    expect(inRecord.issue?.[0]?.diagnostics).toMatch(/^tyk-rwa-3: /);
    expect((await post(`${srv.url}/api/plans`, a)).status).toBe(201);
    const refused = await post(`${srv.url}/api/plans`, b);
    expect(refused.status).toBe(400);
    expect(refused.issue).toEqual([
      {
        severity: 'error',
        code: 'invariant',
        diagnostics:
          'tyk-rwa-3: SupportPlan.activities[0].daysPerWeek: rehabilitative work activity is at most 4 days a week in all, across the client\'s plans; on the day this one starts, the activities running add up to 6 (SupportPlan.activities[0], stored plan "rwa-a".activities[0])',
        expression: ['SupportPlan.activities[0].daysPerWeek'],
        location: ['SupportPlan.activities[0].daysPerWeek'],
      },
    ]);
    // rwa-a itself re-sent with 4 days replaces its stored 3: alone, within the limit.
    expect((await post(`${srv.url}/api/plans`, activationPlan('rwa-a', 4))).status).toBe(200);
    // b starting before a: the excess is on the day a starts; still b's field is named.
    const early = {
      ...b,
      period: { start: '2025-04-01', end: '2026-12-31' },
      activities: [{ ...b.activities[0]!, period: { start: '2025-04-01', end: '2026-03-14' } }],
    };
    const refusedEarly = await post(`${srv.url}/api/plans`, early);
    expect(refusedEarly.status).toBe(400);
    expect(refusedEarly.issue?.[0]?.expression).toEqual(['SupportPlan.activities[0].daysPerWeek']);
    expect(refusedEarly.issue?.[0]?.diagnostics).toContain('stored plan "rwa-a"');
  });
});
