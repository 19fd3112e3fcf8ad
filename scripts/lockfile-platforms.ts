/**
 * Keeps package-lock.json valid for `npm ci` on every platform. The registry mirror this project is
 * developed behind serves only linux-x64 builds of platform-specific optional packages (DuckDB's
 * and swc's native bindings), so `npm install` leaves the other platforms' entries out of the lock,
 * and `npm ci` then refuses it. This adds the missing entries as optional, platform-restricted
 * packages: npm skips them on other platforms and fetches them by version where they fit.
 * Run after changing dependencies: `npm install && npx tsx scripts/lockfile-platforms.ts`.
 */
import fs from 'node:fs';

const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8'));
const packages: Record<string, any> = lock.packages;
let added = 0;

function platformOf(name: string): { os: string[]; cpu: string[]; libc?: string[] } | null {
  const m = /-(darwin|linux|win32|freebsd|android)-(x64|arm64|arm|ia32|ppc64|s390x|riscv64)(?:-(gnu|musl|msvc|gnueabihf))?$/.exec(name);
  if (!m) return null;
  const [, os, cpu, variant] = m;
  return { os: [os], cpu: [cpu], ...(variant === 'musl' ? { libc: ['musl'] } : variant === 'gnu' ? { libc: ['glibc'] } : {}) };
}

for (const [, pkg] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries<string>(pkg.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    if (packages[key]) continue;
    const platform = platformOf(dep);
    if (!platform) continue;
    packages[key] = { version, optional: true, ...platform };
    added++;
  }
}
const sorted = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => a.localeCompare(b, 'en'))); // npm's order
lock.packages = sorted;
fs.writeFileSync('package-lock.json', JSON.stringify(lock, null, 2) + '\n');
console.log(`added ${added} platform-specific optional entries to package-lock.json`);
