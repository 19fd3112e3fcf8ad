/**
 * A set whose members expire, bounded in size (the oldest go first): the predict path remembers
 * names that do not exist for a few seconds, however many different names it is asked about.
 */
export function createExpiringSet(opts: { maxSize: number; ttlMs: number }) {
  const addedAt = new Map<string, number>();
  return {
    has(key: string): boolean {
      const at = addedAt.get(key);
      if (at === undefined) return false;
      if (Date.now() - at < opts.ttlMs) return true;
      addedAt.delete(key);
      return false;
    },
    add(key: string) {
      addedAt.delete(key); // re-inserted at the end: Map keeps insertion order
      addedAt.set(key, Date.now());
      while (addedAt.size > opts.maxSize) addedAt.delete(addedAt.keys().next().value!);
    },
    delete(key: string) { addedAt.delete(key); },
    clear() { addedAt.clear(); },
    get size() { return addedAt.size; },
  };
}
