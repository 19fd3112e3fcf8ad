/**
 * The Temporal server the tests use: the one `npm test` started (PERENNIAL_TEST_TEMPORAL_ADDRESS),
 * or, when a test file runs on its own, a dev server started here for this process and stopped
 * after the file's last test.
 */
import { after } from 'node:test';
import { resolveTemporalCli } from '../../scripts/temporal-cli';
import { startTemporalDevServer, type DevServer } from '../../scripts/temporal-dev-server';

let address: Promise<string> | undefined;
let server: DevServer | undefined;
// registered when this module loads, so it belongs to the file, not to whichever test asked first
after(() => server?.stop());

export function testTemporalAddress(): Promise<string> {
  address ??= (async () => {
    if (process.env.PERENNIAL_TEST_TEMPORAL_ADDRESS) return process.env.PERENNIAL_TEST_TEMPORAL_ADDRESS;
    server = await startTemporalDevServer({ cli: resolveTemporalCli({ log: () => {} }), headless: true });
    return server.address;
  })();
  return address;
}
