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
    const stop = async (signal: string) => {
      console.log(`[${name}] ${signal}: draining and stopping`);
      await platform.stop();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
  } catch (err) {
    console.error(`[${name}] ${err instanceof ConfigError ? err.message : `failed to start: ${(err as Error).stack}`}`);
    process.exit(1);
  }
}
