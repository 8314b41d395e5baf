import { type FacadeHere, startFacadeHere } from '../../helpers/facade.ts';
export { dropDatabase, freshDatabase } from '../../helpers/databases.ts';

/**
 * A second tyokyky facade — the "Kanta-style store" — on its own PostgreSQL database (not strict), in
 * the test's process: the sync under test talks to it over HTTP as to any remote.
 */
export function startRemote(databaseUrl: string): Promise<FacadeHere> {
  return startFacadeHere(databaseUrl, { strict: false });
}
