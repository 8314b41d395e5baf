// A searchset's links, and the saved criteria they name instead of repeating a long or POSTed
// search (`[base]/[type]?_saved=<key>&_count=…&_cursor=…`): a link must stay a URL the server takes
// (Node refuses a request line and headers over 16 KB with 431), and a POSTed search's criteria
// were sent in a body, not to be echoed into URLs (they may carry a HETU).
import type { Bundle } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../shared/outcome.ts';
import type { SavedCriteria, SearchParams } from '../../store/index.ts';
import { withQuery } from '../http/query-params.ts';
import type { SavedSearches } from './route-types.ts';

/** The parameter naming saved criteria. */
export const SAVED = '_saved';
/** A link longer than this (characters) names saved criteria: half of Node's 16 KB header limit. */
export const LONGEST_LINK = 8192;
/** Paging parameters: not criteria, so not saved; they go beside `_saved` in a link. */
const PAGING = ['_count', '_cursor', '_offset'] as const;

/** What the links are built with: the base URL and, where there is one, the saved-search store. */
interface LinkContext {
  base: string;
  savedSearches?: SavedSearches;
}

/** The search criteria (`params`), and the key they were saved under when they came by `_saved`. */
export interface SearchCriteria {
  params: SavedCriteria;
  saved?: string;
}

/**
 * The criteria a search runs with: as asked, or those saved under `_saved` with the paging
 * parameters of this request. `_saved` with any other parameter is a 400 naming it; a key not known
 * (never made, made for another type, expired) is 410 Gone.
 */
export async function searchCriteria(
  ctx: LinkContext,
  type: string,
  asked: SavedCriteria,
): Promise<SearchCriteria> {
  const key = asked[SAVED];
  if (key === undefined) return { params: asked };
  if (typeof key !== 'string') throw FhirError.badRequest('_saved names one saved search', SAVED);
  const other = Object.keys(asked).find((name) => name !== SAVED && !isPaging(name));
  if (other !== undefined)
    throw FhirError.badRequest(
      '_saved names saved criteria: only _count, _cursor and _offset may go with it (repeat the search to change it)',
      other,
    );
  if (!ctx.savedSearches)
    throw FhirError.badRequest(
      'A saved search (_saved) is not followed inside a transaction; use GET or a batch entry',
      SAVED,
    );
  const criteria = await ctx.savedSearches.load(type, key);
  if (!criteria)
    throw new FhirError(
      410,
      issue('error', 'not-found', 'The saved search has expired; repeat the search', SAVED),
    );
  return { params: { ...criteria, ...pagingOf(asked) }, saved: key };
}

/** What a page says about where the search goes on. */
interface PageState {
  nextCursor?: string;
  count: number;
  ignored?: string[];
}

/**
 * The self and next links of a search page. They repeat the criteria (less any ignored under
 * handling=lenient, `_count` as applied) unless the search came by POST (`posted`) or by `_saved`, or a link would be
 * longer than LONGEST_LINK: then the criteria are saved (once) and the links name their key.
 */
export async function searchLinks(
  ctx: LinkContext,
  type: string,
  search: SearchCriteria,
  page: PageState,
  posted: boolean,
): Promise<NonNullable<Bundle['link']>> {
  const ignored = new Set(page.ignored ?? []);
  // The self link says the page size used: a `_count` over the cap (or given twice) as it was applied.
  const used = search.params._count === undefined ? {} : { _count: String(page.count) };
  const changes: Array<[string, SearchParams]> = [['self', used]];
  if (page.nextCursor)
    changes.push(['next', { _cursor: page.nextCursor, _offset: undefined, _count: String(page.count) }]);
  const url = (params: SearchParams) => withQuery(`${ctx.base}/${type}`, queryOf(params, ignored));
  const inline = changes.map(([relation, change]) => ({
    relation,
    url: url({ ...search.params, ...change }),
  }));
  let key = search.saved;
  if (key === undefined && ctx.savedSearches && (posted || inline.some((l) => l.url.length > LONGEST_LINK))) {
    const criteria = Object.fromEntries(
      Object.entries(search.params).filter(([name]) => !isPaging(name) && !ignored.has(name)),
    );
    key = await ctx.savedSearches.save(type, criteria);
  }
  if (key === undefined) return inline;
  const saved = key;
  return changes.map(([relation, change]) => ({
    relation,
    url: url({ [SAVED]: saved, ...pagingOf(search.params), ...change }),
  }));
}

function isPaging(name: string): boolean {
  return (PAGING as readonly string[]).includes(name);
}

/** The paging parameters of `params`, in one order. */
function pagingOf(params: SavedCriteria): SavedCriteria {
  const out: SavedCriteria = {};
  for (const name of PAGING) {
    const value = params[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** `params` as a query, repeated values kept, undefined ones and those in `ignored` left out. */
function queryOf(params: SearchParams, ignored: ReadonlySet<string>): URLSearchParams {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || ignored.has(name)) continue;
    for (const one of Array.isArray(value) ? value : [value]) q.append(name, one);
  }
  return q;
}
