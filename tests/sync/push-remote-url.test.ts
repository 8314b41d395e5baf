// A pulled copy names a remote resource the pull does not fetch (a CarePlan an app wrote there) by the
// remote's URL as the sync reaches it. Behind a gateway that URL is not the one the remote knows itself
// by: a local edit pushed with it verbatim would leave the remote's copy pointing at a URL it does not
// resolve. The push sends it as the remote's own `Type/id`. In-process: a remote facade on PGlite
// behind a proxy (our fault proxy, with no faults) standing in for the gateway.
import type { QuestionnaireResponse, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Store, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { type FacadeHere, startFacadeHere } from '../helpers/facade.ts';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.ts';
import {
  carePlan,
  consent,
  identifierOf,
  patient,
  remoteCopiesOf,
  remotePost,
  selfAssessment,
} from './helpers/fixtures.ts';

let remote: FacadeHere;
let gateway: FaultProxy;
let store: Store;
let sync: SyncService;

beforeAll(async () => {
  remote = await startFacadeHere({ dataDir: 'memory://' }, { strict: false });
  gateway = await startFaultProxy(remote.url);
  store = await openStore({ dataDir: 'memory://' });
  sync = createSync({ store, remote: { baseUrl: gateway.url, party: 'other-health-care' } });
  await sync.ready;
}, 120_000);

afterAll(async () => {
  await sync?.stop();
  await store?.close();
  await gateway?.close();
  await remote?.stop();
});

describe("a pulled copy's reference to a remote resource not pulled", () => {
  it('is sent back as the remote’s own Type/id, and the remote still finds it by that reference', async () => {
    const client = (await store.create(patient('061181-908X'))).resource;
    await store.create(consent(client.id as string));
    await sync.pushOnce();
    const [there] = await remoteCopiesOf(remote.url, client);
    const plan = await remotePost(remote.url, carePlan(there?.id as string) as Resource);
    const written = await remotePost(remote.url, {
      ...selfAssessment(there?.id as string),
      basedOn: [{ reference: `CarePlan/${plan.id}` }],
    } as QuestionnaireResponse);

    await sync.pullOnce();
    const ident = identifierOf(written) as string;
    const [here] = (await store.search('QuestionnaireResponse', { identifier: `urn:ietf:rfc:3986|${ident}` }))
      .resources as QuestionnaireResponse[];
    // Not pulled, so named by the remote's URL as the sync reaches it.
    expect(here?.basedOn?.[0]?.reference).toBe(`${gateway.url}/CarePlan/${plan.id}`);

    await store.update({ ...here, status: 'amended' } as QuestionnaireResponse, {
      ifMatch: `W/"${here?.meta?.versionId}"`,
    });
    await sync.pushOnce();
    const after = (await (
      await fetch(`${remote.url}/QuestionnaireResponse/${written.id}`)
    ).json()) as QuestionnaireResponse;
    expect(after.status).toBe('amended');
    expect(after.basedOn?.[0]?.reference).toBe(`CarePlan/${plan.id}`);
    const found = (await (
      await fetch(`${remote.url}/QuestionnaireResponse?based-on=CarePlan/${plan.id}&_total=accurate`)
    ).json()) as { total?: number };
    expect(found.total).toBe(1);
  });
});
