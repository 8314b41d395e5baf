// A Bundle entry's request read through the FHIR route table. The security front checks an entry's
// scopes against this reading and the Kanta PHR batch runs the interaction it names, so an entry
// cannot be allowed as one interaction and run as another.
import { type Dispatcher, type Match, createDispatcher } from './dispatch.ts';
import { FHIR_ROUTES } from './routes.ts';

const TABLE = createDispatcher(FHIR_ROUTES);

/** The route table a Bundle's entries are read in when no request's own table is at hand (the domain API). */
export const ENTRY_ROUTES: Pick<Dispatcher, 'match'> = TABLE;

/** The route an entry names, and its query text (after the first `?`), when it has one. */
export interface EntryRoute extends Match {
  query?: string;
}

/**
 * The route `method` and `url` (relative to the FHIR base, with or without a leading `/`) name, or
 * undefined when none does or the path is malformed. The path is matched as an HTTP request's is.
 */
export function entryRoute(method: string, url: string): EntryRoute | undefined {
  const mark = url.indexOf('?');
  const path = mark < 0 ? url : url.slice(0, mark);
  const match = TABLE.find(method, path.startsWith('/') ? path : `/${path}`);
  if (!match) return undefined;
  return mark < 0 ? match : { ...match, query: url.slice(mark + 1) };
}
