export { openStore } from './store.ts';
export { parseDateRange } from './dates.ts';
export type * from './types.ts';
