// What a remote's refusal leaves in the reasons an operator reads (`sync dead-letters`, `GET
// /api/sync/rows`, the held rows that depend on it): the remote's diagnostics may quote what we sent
// (a name, a HETU), so a reason names the HTTP status, the issues' severity, code, element and rule,
// and a dependent row names only its dependency and that dependency's state. The remote's whole answer
// stays in the dead row's `outcome`. The remote is scripted (helpers/scripted-remote.ts), the local
// store PGlite.
import type { Observation, Resource } from '@medplum/fhirtypes';
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { rowText } from '../../src/cli/sync/run.ts';
import { syncApi } from '../../src/server/sync-api.ts';
import { carePlan, goal, score } from './helpers/fixtures.ts';
import { scriptedPerSuite } from './helpers/scripted-remote.ts';

const HETU = '010395-9817';
/** What the remote quotes back: the client's name (the fixture's) and HETU. */
const QUOTED = [HETU, 'Testaaja', 'Suvi'];

const suite = scriptedPerSuite(HETU);

describe('a remote refusal quoting the client', () => {
  it('leaves the quote out of the dead row’s reason and out of every held dependent’s', async () => {
    const { store, sync, patientId } = suite.followed;
    suite.remote.writeAnswer = {
      status: 422,
      body: {
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'error',
            code: 'processing',
            diagnostics: `tyk-obs-1: Patient Suvi Testaaja with HETU ${HETU} rejected`,
            expression: ['Observation.subject'],
          },
        ],
      },
    };
    const obs = (await store.create(score(patientId))).resource as Observation;
    const aim = (await store.create(goal(patientId, obs.id as string))).resource as Resource;
    const plan = (
      await store.create({ ...carePlan(patientId), goal: [{ reference: `Goal/${aim.id}` }] } as Resource)
    ).resource as Resource;
    await sync.pushOnce();
    // The dependents waited for the Observation's answer; they find it dead at their next look.
    await new Promise((r) => setTimeout(r, 300));
    await sync.pushOnce();

    const [dead] = await sync.rows('dead');
    expect(dead).toMatchObject({ resource_type: 'Observation', resource_id: obs.id });
    expect(dead.reason).toBe(
      'remote refused (HTTP 422): error processing at Observation.subject (tyk-obs-1)',
    );
    // The remote did quote them: the test would prove nothing otherwise.
    expect(JSON.stringify(dead.outcome)).toContain(HETU);

    const held = await sync.rows('held');
    expect(held.map((r) => [r.resource_type, r.reason])).toEqual([
      ['Goal', `held: depends on Observation/${obs.id}, which is dead`],
      ['CarePlan', `held: depends on Goal/${aim.id}, which is held`],
    ]);
    expect(plan.id).toBe(held[1].resource_id);

    for (const row of [dead, ...held]) {
      for (const q of QUOTED) {
        expect(row.reason).not.toContain(q);
        // `sync dead-letters` as text: the rows' reasons and their outcomes' issues, never the diagnostics.
        expect(rowText(row)).not.toContain(q);
      }
    }
    expect(rowText(dead)).toContain('\n    error processing at Observation.subject (tyk-obs-1)');
  }, 60_000);

  it('is left out of GET /api/sync/rows, which shows each issue by severity, code, element and rule', async () => {
    const app = express().use('/api/sync', syncApi(suite.followed.sync));
    const res = await request(app).get('/api/sync/rows?state=dead');
    expect(res.status).toBe(200);
    expect(res.body.map((r: { outcome: unknown }) => r.outcome)).toEqual([
      {
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'error',
            code: 'processing',
            expression: ['Observation.subject'],
            diagnostics: 'tyk-obs-1',
          },
        ],
      },
    ]);
    for (const q of QUOTED) expect(res.text).not.toContain(q);
  });
});
