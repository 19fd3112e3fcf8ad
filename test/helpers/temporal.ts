/**
 * The Temporal server the tests use: the one `npm test` started (PERENNIAL_TEST_TEMPORAL_ADDRESS),
 * or, when a test file runs on its own, a dev server started here for this process.
 */
import { after } from 'node:test';
import { resolveTemporalCli } from '../../scripts/temporal-cli';
import { startTemporalDevServer } from '../../scripts/temporal-dev-server';

let address: Promise<string> | undefined;

export function testTemporalAddress(): Promise<string> {
  address ??= (async () => {
    if (process.env.PERENNIAL_TEST_TEMPORAL_ADDRESS) return process.env.PERENNIAL_TEST_TEMPORAL_ADDRESS;
    const server = await startTemporalDevServer({ cli: resolveTemporalCli({ log: () => {} }), headless: true });
    after(() => server.stop());
    return server.address;
  })();
  return address;
}
