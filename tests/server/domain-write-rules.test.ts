// The domain API's write rules on a listening server: a handover computed from a version another
// write replaced meanwhile is refused (same-version, never a lost update), one active
// responsible-worker team per client (one-active-team), a handover's refusal told in the request's
// fields, and JSON only (406 for an Accept without JSON; no ETag that is not a version's).
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maija, sirpa } from '../../examples/tools/personas.ts';
import type { ResponsibleWorkerTeam } from '../../src/domain/index.ts';
import { localIdSystem } from '../../src/mapping/index.ts';
import type { FacadeStore } from '../../src/server/ports.ts';
import { dropDatabase, freshDatabase } from '../helpers/databases.ts';
import { gate, stillPending } from '../helpers/locks.ts';
import { type Fixture, openFixture } from './helpers.ts';

type Search = FacadeStore['search'];

/**
 * The fixture's store, with one read of a client's active team (what a handover is computed from)
 * held once `holdNext` is called: the request making it waits there until `open`.
 */
function holding(store: FacadeStore) {
  let next: { reached(): void; wait: Promise<void> } | undefined;
  const search: Search = async (type, params, o) => {
    const found = await store.search(type, params, o);
    const held = next;
    if (held && type === 'CareTeam' && params.status === 'active') {
      next = undefined;
      held.reached();
      await held.wait;
    }
    return found;
  };
  const wrapped = new Proxy(store, {
    get(target, prop) {
      if (prop === 'search') return search;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const holdNext = () => {
    const g = gate();
    let reached = () => {};
    const at = new Promise<void>((resolve) => {
      reached = resolve;
    });
    next = { reached, wait: g.wait };
    return { reached: at, open: g.open };
  };
  return { store: wrapped, holdNext };
}

interface Running {
  url: string;
  holdNext: ReturnType<typeof holding>['holdNext'];
  close(): Promise<void>;
}

async function listening(fx: Fixture): Promise<Running> {
  const { store, holdNext } = holding(fx.store);
  const server: Server = fx.app({ store }).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    holdNext,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

/** The id of the current resource of `type` holding the local id `id` of the domain `kind` (undefined: none). */
async function storedId(
  url: string,
  type: string,
  kind: 'team' | 'plan',
  id: string,
): Promise<string | undefined> {
  const q = encodeURIComponent(`${localIdSystem(kind)}|${id}`);
  const found = (await (await fetch(`${url}/fhir/${type}?identifier=${q}`)).json()) as Bundle;
  return found.entry?.[0]?.resource?.id;
}

/** The parts of a domain API answer these tests read. */
interface Answer {
  resourceType?: string;
  issue?: OperationOutcomeIssue[];
  team: ResponsibleWorkerTeam;
  resources: Resource[];
}
const answer = async (r: Response | Promise<Response>): Promise<Answer> => (await (await r).json()) as Answer;

const memberText = (t: ResponsibleWorkerTeam) =>
  t.members.map((m) => `${m.professionalId}:${m.role}:${m.period.start}..${m.period.end ?? ''}`);

function handoverRace(engine: string, open: () => Promise<{ fx: Fixture; drop?: () => Promise<void> }>) {
  describe(`a handover racing another (${engine})`, () => {
    let fx: Fixture;
    let drop: (() => Promise<void>) | undefined;
    let srv: Running;
    beforeAll(async () => {
      ({ fx, drop } = await open());
      srv = await listening(fx);
      expect((await post(`${srv.url}/api/records`, maija)).status).toBe(201);
    }, 60_000);
    afterAll(async () => {
      await srv?.close();
      await fx?.close();
      await drop?.();
    });

    it('the one computed from the version the other replaced is 409 same-version; the first stays in the history', async () => {
      const handover = `${srv.url}/api/clients/maija/responsible-worker`;
      const teamBefore = (await answer(fetch(handover))).team;
      // B reads the team, then waits; A hands over meanwhile; then B writes what it computed.
      const hold = srv.holdNext();
      const b = post(handover, { professionalId: 'dr-makela', role: 'own-worker', date: '2027-06-20' });
      await hold.reached;
      const a = await post(handover, {
        professionalId: 'coord-heikkinen',
        role: 'own-worker',
        date: '2027-06-10',
      });
      expect(a.status).toBe(200);
      expect(await stillPending(b, 50)).toBe(true);
      hold.open();
      const refused = await b;
      expect(refused.status).toBe(409);
      // A refusal is an OperationOutcome, labelled as every /api refusal is (docs/server.md).
      expect(refused.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
      expect((await answer(refused)).issue).toEqual([
        {
          severity: 'error',
          code: 'conflict',
          diagnostics:
            'same-version: ResponsibleWorkerTeam.id: ResponsibleWorkerTeam "maija-team" was changed by another write after this request read it; nothing was written: read it again and send the change anew',
          expression: ['ResponsibleWorkerTeam.id'],
          location: ['ResponsibleWorkerTeam.id'],
        },
      ]);
      // The team holds A's handover: coord-heikkinen from 2027-06-10, nothing of B's.
      const after = (await answer(fetch(handover))).team;
      expect(memberText(after)).toEqual([
        ...memberText(teamBefore).map((m) =>
          m === 'sc-lehtonen:own-worker:2026-05-01..' ? 'sc-lehtonen:own-worker:2026-05-01..2027-06-09' : m,
        ),
        'coord-heikkinen:own-worker:2027-06-10..',
      ]);
      const history = (await (
        await fetch(
          `${srv.url}/fhir/CareTeam/${await storedId(srv.url, 'CareTeam', 'team', 'maija-team')}/_history`,
        )
      ).json()) as Bundle;
      // Maija's record wrote version 1, A version 2; B wrote none.
      expect(history.entry?.map((e) => e.resource?.meta?.versionId)).toEqual(['2', '1']);
    });

    it('the team deleted meanwhile is not created anew by a handover computed from it: 409 same-version', async () => {
      const handover = `${srv.url}/api/clients/maija/responsible-worker`;
      // The plan names the team: it goes first, so the team may be deleted.
      const plan = await storedId(srv.url, 'CarePlan', 'plan', 'maija-plan');
      expect((await fetch(`${srv.url}/fhir/CarePlan/${plan}`, { method: 'DELETE' })).status).toBe(204);
      const id = await storedId(srv.url, 'CareTeam', 'team', 'maija-team');
      const hold = srv.holdNext();
      const b = post(handover, { professionalId: 'dr-makela', role: 'own-worker', date: '2027-08-01' });
      try {
        await hold.reached;
        expect((await fetch(`${srv.url}/fhir/CareTeam/${id}`, { method: 'DELETE' })).status).toBe(204);
      } finally {
        hold.open();
      }
      const refused = await b;
      expect(refused.status).toBe(409);
      expect((await answer(refused)).issue?.[0]?.diagnostics).toMatch(
        /^same-version: ResponsibleWorkerTeam\.id: ResponsibleWorkerTeam "maija-team" was changed by another write/,
      );
      expect(await storedId(srv.url, 'CareTeam', 'team', 'maija-team')).toBeUndefined();
    });
  });
}

handoverRace('PGlite', async () => ({ fx: await openFixture() }));
handoverRace('PostgreSQL', async () => {
  const databaseUrl = await freshDatabase('tyokyky_domain_rules');
  try {
    return { fx: await openFixture({ databaseUrl }), drop: () => dropDatabase(databaseUrl) };
  } catch (err) {
    await dropDatabase(databaseUrl);
    throw err;
  }
});

describe('domain API write rules (PGlite)', () => {
  let fx: Fixture;
  let srv: Running;
  beforeAll(async () => {
    fx = await openFixture();
    srv = await listening(fx);
    expect((await post(`${srv.url}/api/records`, sirpa)).status).toBe(201);
    expect((await post(`${srv.url}/api/records`, maija)).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await srv?.close();
    await fx?.close();
  });

  const secondTeam: ResponsibleWorkerTeam = {
    id: 'sirpa-team-2',
    clientId: 'sirpa',
    members: [{ professionalId: 'te-aalto', role: 'te-expert', period: { start: '2026-01-01' } }],
  };
  const why =
    'client "sirpa" already has an active responsible-worker team ("sirpa-team"): end it (ended) before another begins, or hand over within it (POST /api/clients/sirpa/responsible-worker)';

  it('a second active responsible-worker team of one client is 409 one-active-team, alone or in a record; nothing stored', async () => {
    const alone = await post(`${srv.url}/api/teams`, secondTeam);
    expect(alone.status).toBe(409);
    expect((await answer(alone)).issue).toEqual([
      {
        severity: 'error',
        code: 'conflict',
        diagnostics: `one-active-team: ResponsibleWorkerTeam.clientId: ${why}`,
        expression: ['ResponsibleWorkerTeam.clientId'],
        location: ['ResponsibleWorkerTeam.clientId'],
      },
    ]);
    const inRecord = await post(`${srv.url}/api/records`, { ...sirpa, teams: [...sirpa.teams!, secondTeam] });
    expect(inRecord.status).toBe(409);
    expect((await answer(inRecord)).issue).toEqual([
      {
        severity: 'error',
        code: 'conflict',
        diagnostics:
          'one-active-team: WorkAbilityRecord.teams[1].clientId: client "sirpa" has two active responsible-worker teams in this record ("sirpa-team" and "sirpa-team-2"): one is active at a time',
        expression: ['WorkAbilityRecord.teams[1].clientId'],
        location: ['WorkAbilityRecord.teams[1].clientId'],
      },
    ]);
    const view = await answer(fetch(`${srv.url}/api/clients/sirpa/responsible-worker`));
    expect(view.team.id).toBe('sirpa-team');
    expect(await storedId(srv.url, 'CareTeam', 'team', 'sirpa-team-2')).toBeUndefined();
    // The team itself re-sent, changed or not, and the record re-sent: no second team, no refusal.
    expect((await post(`${srv.url}/api/teams`, sirpa.teams![0])).status).toBe(200);
    expect((await post(`${srv.url}/api/records`, sirpa)).status).toBe(200);
  });

  it('once the first team has ended, a second one begins; ended and begun in one record too', async () => {
    const first = sirpa.teams![0]!;
    const ended: ResponsibleWorkerTeam = {
      ...first,
      ended: '2026-06-30',
      members: first.members.map((m) => ({
        ...m,
        period: { ...m.period, end: m.period.end ?? '2026-06-30' },
      })),
    };
    const res = await post(`${srv.url}/api/records`, { ...sirpa, teams: [ended, secondTeam] });
    expect(res.status, JSON.stringify(await answer(res.clone()))).toBe(201);
    const view = await answer(fetch(`${srv.url}/api/clients/sirpa/responsible-worker`));
    expect(view.team.id).toBe('sirpa-team-2');
  });

  it('a handover to a professional the store does not know names the field the caller sent', async () => {
    const res = await post(`${srv.url}/api/clients/maija/responsible-worker`, {
      professionalId: 'ghost',
      role: 'own-worker',
      date: '2027-01-01',
    });
    expect(res.status).toBe(400);
    expect((await answer(res)).issue).toEqual([
      {
        severity: 'error',
        code: 'not-found',
        diagnostics:
          'HandoverRequest.professionalId: the conditional reference to PractitionerRole matches no resource',
        expression: ['HandoverRequest.professionalId'],
        location: ['HandoverRequest.professionalId'],
      },
    ]);
  });

  it('JSON only: an Accept or _format without JSON is 406 before anything is read or written; no ETag on a view', async () => {
    const plan = `${srv.url}/api/clients/maija/plan`;
    for (const [url, accept] of [
      [`${plan}?_format=xml`, undefined],
      [plan, 'application/xml'],
      [plan, 'text/html'],
    ] as const) {
      const res = await fetch(url, { headers: accept ? { accept } : {} });
      expect(res.status, `${url} ${accept}`).toBe(406);
      expect((await answer(res)).resourceType).toBe('OperationOutcome');
    }
    const write = await post(
      `${srv.url}/api/teams`,
      { ...sirpa.teams![0], name: 'XML' },
      { accept: 'application/xml' },
    );
    expect(write.status).toBe(406);
    for (const accept of [undefined, 'application/json', '*/*', 'text/html, application/json;q=0.5']) {
      const res = await fetch(plan, { headers: accept ? { accept } : {} });
      expect(res.status, accept).toBe(200);
      expect(res.headers.get('content-type'), accept).toBe('application/json; charset=utf-8');
      expect(res.headers.get('etag'), accept).toBeNull();
    }
    const written = await post(`${srv.url}/api/organizations`, maija.organizations![0]);
    expect(written.status).toBe(200);
    expect(written.headers.get('etag')).toBeNull();
    expect((await answer(written)).resources[0]?.resourceType).toBe('Organization');
  });
});
