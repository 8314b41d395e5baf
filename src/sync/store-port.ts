// Sync codes against the store's public contract (DEVELOPERS.md); these are its names for it here.
export type {
  ResourceChange as WriteChange,
  Store as SyncStore,
  StoreTx as SyncStoreTx,
} from '../store/index.ts';
