import { type ServeProcess, startServe } from '../../helpers/processes.ts';
export { PG_URL, dropDatabase, freshDatabase } from '../../helpers/databases.ts';
export { type ServeProcess, startServe, stopChild, tyokyky } from '../../helpers/processes.ts';

/**
 * A second tyokyky facade — the "Kanta-style store" — on its own PostgreSQL database (not strict), as a
 * process of its own (the sync bench meters its CPU). Tests use `startRemote` (./remote.ts), in-process.
 */
export function startFacade(databaseUrl: string): Promise<ServeProcess> {
  return startServe(['--no-strict', '--database-url', databaseUrl]);
}
