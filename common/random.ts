/** Seeded randomness, so the same seed and data give the same split, the same trials and the same model. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates over `items` (in place) with the seeded generator. */
export function seededShuffle<T>(items: T[], seed: number): T[] {
  const rand = mulberry32(seed);
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

export function shuffledIndices(n: number, seed: number): number[] {
  return seededShuffle(Array.from({ length: n }, (_, i) => i), seed);
}

/** Splits row indices into a training part and a held-out part, the same way every time for a seed. */
export function holdoutSplit(n: number, holdoutFraction: number, seed: number): { train: number[]; holdout: number[] } {
  const idx = shuffledIndices(n, seed);
  const holdoutSize = Math.max(1, Math.round(n * holdoutFraction));
  return { holdout: idx.slice(0, holdoutSize), train: idx.slice(holdoutSize) };
}
