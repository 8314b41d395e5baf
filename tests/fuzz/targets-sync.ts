/**
 * A target behind the sync's pull: a scripted remote answers its searches with mutated Consents and
 * QuestionnaireResponses of the client it follows. A pull must finish whatever the remote sends, and
 * store only what a write here must pass (the facade's own checks).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import pino from 'pino';
import { hasErrors } from '../../src/shared/outcome.ts';
import { isFhirId } from '../../src/shared/references.ts';
import { STORE_WRITE_CHECKS } from '../../src/shared/store-write-checks.ts';
import type { Store } from '../../src/store/index.ts';
import { type Validator, loadProjectValidator } from '../../src/validation/index.ts';
import { score } from '../sync/helpers/fixtures.ts';
import {
  type ScriptedAnswer,
  type ScriptedRemote,
  followOnScripted,
  startScriptedRemote,
} from '../sync/helpers/scripted-remote.ts';
import { signatureOf } from './judge.ts';
import { ROOT, type Target } from './target.ts';

const PULLED = /^(Consent|QuestionnaireResponse)-.*\.json$/;

/** The profiles' pulled examples as the remote would hold them: its ids, its stamps, its client. */
function remoteSeeds(remotePatient: string): unknown[] {
  const dir = join(ROOT, 'profiles/package/example');
  const now = new Date().toISOString();
  return readdirSync(dir)
    .filter((f) => PULLED.test(f))
    .sort()
    .map((f, i) => {
      const text = readFileSync(join(dir, f), 'utf8').replace(
        /"Patient\/[^"]+"/g,
        `"Patient/${remotePatient}"`,
      );
      return { ...JSON.parse(text), id: `remote-${i}`, meta: { versionId: '1', lastUpdated: now } };
    });
}

export const syncPull: Target = {
  name: 'sync-pull',
  what: 'a pull finishes whatever the remote answers, stores only what a write here must pass, and lists what it refused',
  async open() {
    const remote = await startScriptedRemote();
    const validator = await loadProjectValidator();
    const { store, sync, remotePatientId, close } = await followOnScripted(
      remote,
      '231181-923C',
      {},
      { validator, logger: pino({ level: 'silent' }) },
    );
    let fresh = 0;
    return {
      seeds: remoteSeeds(remotePatientId),
      // A fresh remote id per case (where the mutation left the seed's), so each is new to the id map.
      input(mutated) {
        const r = mutated as { id?: unknown } | null;
        if (r && typeof r === 'object' && typeof r.id === 'string' && r.id.startsWith('remote-'))
          r.id = `remote-case-${++fresh}`;
        return r;
      },
      async check(input) {
        const type = (input as Resource | null)?.resourceType;
        remote.answers.Consent = type === 'Consent' ? [input] : [];
        remote.answers.QuestionnaireResponse = type === 'Consent' ? [] : [input];
        let refused: number;
        try {
          ({ refused } = await sync.pullOnce());
        } catch (err) {
          return `pull threw ${signatureOf(err)}`;
        }
        return (
          (await storedButFailing(store, validator, input)) ?? (refused ? unlisted(store, input) : undefined)
        );
      },
      close: async () => {
        await close();
        await remote.close();
      },
    };
  },
};

/** What the pull stored of `input` (found by its remote id), when that fails what a write here must pass. */
async function storedButFailing(
  store: Store,
  validator: Validator,
  input: unknown,
): Promise<string | undefined> {
  const { resourceType, id } = (input ?? {}) as { resourceType?: unknown; id?: unknown };
  if (typeof resourceType !== 'string' || !/^[A-Z][A-Za-z]+$/.test(resourceType) || !isFhirId(id))
    return undefined;
  const [m] = await store.query<{ local_id: string }>(
    'SELECT local_id FROM sync_idmap WHERE resource_type = $1 AND remote_id = $2',
    [resourceType, id],
  );
  if (!m) return undefined;
  const local = await store.read(resourceType as 'Consent', m.local_id);
  const oo = validator.validate(local, STORE_WRITE_CHECKS);
  return hasErrors(oo)
    ? `stored a ${resourceType} that fails: ${oo.issue?.find((i) => i.severity === 'error')?.code}`
    : undefined;
}

/** A refused `input` with an id to list it by that the status does not list (sync_pull_refused). */
async function unlisted(store: Store, input: unknown): Promise<string | undefined> {
  const { resourceType, id } = (input ?? {}) as { resourceType?: unknown; id?: unknown };
  if (typeof resourceType !== 'string' || !isFhirId(id)) return undefined;
  const [listed] = await store.query<{ reason: string }>(
    'SELECT reason FROM sync_pull_refused WHERE resource_type = $1 AND remote_id = $2',
    [resourceType, id],
  );
  return listed?.reason ? undefined : 'a refused resource not listed in sync_pull_refused';
}

/** The states an outbox row may rest in after a push: every OutboxState but `inflight` (claimed, unsettled). */
const SETTLED = new Set(['pending', 'held', 'done', 'dead', 'blocked', 'parked']);

/** A local store following one client, with a sync to `remote` (`bundle`: how it sends writes). */
function followedClient(remote: ScriptedRemote, hetu: string, bundle: 'none' | 'batch') {
  return followOnScripted(
    remote,
    hetu,
    {
      bundle,
      retry: { initialDelayMs: 1, maxDelayMs: 2, maxAttempts: 2 },
      // Every case a fresh chance: an open circuit would only make later cases wait.
      breaker: { consecutiveFailures: 1_000_000 },
    },
    { logger: pino({ level: 'silent' }) },
  );
}

/** What is wrong with the outbox rows of `ids` after a push: none, or one left unsettled. */
async function unsettled(store: Store, ids: string[]): Promise<string | undefined> {
  const rows = await store.query<{ state: string }>(
    "SELECT state FROM sync_outbox WHERE resource_type = 'Observation' AND resource_id = ANY($1::text[])",
    [ids],
  );
  if (rows.length < ids.length) return 'a local write without its outbox row';
  const odd = rows.find((r) => !SETTLED.has(r.state));
  return odd && `a row left in state ${odd.state}`;
}

export const syncPushBundle: Target = {
  name: 'sync-push-bundle',
  what: 'a push in batch Bundles finishes whatever the remote answers to them, and settles every row',
  async open() {
    const remote = await startScriptedRemote();
    const { store, sync, patientId, close } = await followedClient(remote, '271181-9273', 'batch');
    const created = (id: string) => ({
      response: { status: '201 Created', location: `Observation/${id}/_history/1` },
    });
    return {
      seeds: [
        {
          status: 200,
          body: { resourceType: 'Bundle', type: 'batch-response', entry: [created('a'), created('b')] },
        },
      ],
      async check(input) {
        remote.bundleAnswer = input as ScriptedAnswer;
        const ids: string[] = [];
        for (let i = 0; i < 2; i++) ids.push((await store.create(score(patientId))).resource.id as string);
        try {
          await sync.pushOnce();
        } catch (err) {
          return `push threw ${signatureOf(err)}`;
        }
        return unsettled(store, ids);
      },
      close: async () => {
        await close();
        await remote.close();
      },
    };
  },
};

export const syncPush: Target = {
  name: 'sync-push',
  what: 'a push finishes whatever a remote answers to its writes, and leaves each row in a state it names',
  async open() {
    const remote = await startScriptedRemote();
    const { store, sync, patientId, close } = await followedClient(remote, '241181-9242', 'none');
    return {
      // A good answer to mutate: what a server sends back for a created Observation.
      seeds: [
        {
          status: 201,
          location: `${remote.url}/Observation/seed/_history/1`,
          body: {
            ...score('seed'),
            id: 'seed',
            meta: { versionId: '1', lastUpdated: new Date().toISOString() },
          },
        },
      ],
      async check(input) {
        remote.writeAnswer = input as ScriptedAnswer;
        const written = (await store.create(score(patientId))).resource;
        try {
          await sync.pushOnce();
        } catch (err) {
          return `push threw ${signatureOf(err)}`;
        } finally {
          remote.writeAnswer = undefined;
        }
        return unsettled(store, [written.id as string]);
      },
      close: async () => {
        await close();
        await remote.close();
      },
    };
  },
};
