/** Runs one part of the platform in this process until SIGINT/SIGTERM; the production entry points use it. */
import { ConfigError, loadConfig } from '../config';
import { startPlatform, type PlatformParts } from './platform';

export async function runPart(name: string, parts: PlatformParts) {
  try {
    const config = loadConfig();
    const platform = await startPlatform(config, {
      parts, log: (m) => console.log(`[${name}] ${m}`),
      // a Worker that stopped polling helps no one: exit, so the supervisor starts a fresh process
      onWorkerFailure: () => process.exit(70),
    });
    console.log(`[${name}] running (Temporal ${platform.temporalAddress}, namespace ${config.temporal.namespace}${platform.apiUrl ? `, API ${platform.apiUrl}` : ''})`);
    // one stop, however many signals come (a supervisor and tsx may both send one): a second one is not a reason to die mid-drain
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`[${name}] ${signal}: draining and stopping`);
      const t0 = Date.now();
      try {
        await platform.stop();
      } catch (err) {
        console.error(`[${name}] did not stop cleanly: ${(err as Error).message}`);
        process.exit(1);
      }
      console.log(`[${name}] stopped in ${Date.now() - t0} ms`);
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  } catch (err) {
    console.error(`[${name}] ${err instanceof ConfigError ? err.message : `failed to start: ${(err as Error).stack}`}`);
    process.exit(1);
  }
}
