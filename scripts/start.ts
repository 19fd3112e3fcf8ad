/**
 * `npm start`: the whole platform in one terminal. A Temporal dev server (persisted under the data
 * directory, Web UI on :8233) unless TEMPORAL_ADDRESS names one; the database migrated (PGlite under
 * the data directory, or DATABASE_URL); the orchestration worker, the training worker and the API.
 * Ctrl-C drains the workers and stops everything; the next `npm start` resumes what was in flight.
 */
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from '../config';
import { openDatabase } from '../db/client';
import { loadBackend } from '../ml/backend';
import { startPlatform } from '../platform/platform';
import { cachedWorkflowBundle } from '../workers/workflow-bundle';
import { dataConverterOf, payloadCodecOf } from '../platform/codec';
import { maskToken, readOrCreateAdminToken } from './admin-token-file';
import { resolveTemporalCli, TemporalCliNotFound } from './temporal-cli';
import { startTemporalDevServer, type DevServer } from './temporal-dev-server';


const say = (msg: string) => console.log(`[perennial] ${msg}`);
/** where a browser on this machine reaches the API `npm start` is about to run */
const localApiUrl = (config: Config) => `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}`;

async function main() {
  const env = { ...process.env };
  // a local admin token, made once and kept in the data directory, when none is configured
  const dataDir = path.resolve(env.PERENNIAL_DATA_DIR ?? '.data');
  // the token itself is never printed: masked, with the file that holds it, or not at all when it came from the environment
  let tokenLine = 'from PERENNIAL_ADMIN_TOKEN';
  let tokenForCurl = '$PERENNIAL_ADMIN_TOKEN';
  if (!env.PERENNIAL_ADMIN_TOKEN) {
    const { token, file, generated } = readOrCreateAdminToken(dataDir);
    env.PERENNIAL_ADMIN_TOKEN = token;
    const shown = path.relative(process.cwd(), file) || file;
    tokenLine = `${maskToken(token)}  (${generated ? 'generated now' : 'generated earlier'}; the whole token is in ${shown}, mode 0600; npm run rotate-admin-token makes a new one)`;
    tokenForCurl = `$(cat ${shown})`;
  }
  const config = loadConfig(env);

  // while Temporal starts: webpack the workflows (or find them cached), open and migrate the
  // database, and load the TensorFlow.js backend
  const bundle = cachedWorkflowBundle(config.dataDir, { failureConverterPath: dataConverterOf(payloadCodecOf(config))?.failureConverterPath });
  const database = openDatabase({ url: config.databaseUrl, pgliteDir: path.join(config.dataDir, 'pglite') })
    .then(async (db) => { await db.migrate(); return db; });
  const backend = loadBackend(config.tfBackend);
  for (const p of [bundle, database, backend]) p.catch(() => {}); // awaited below
  let devServer: DevServer | undefined;
  let temporalAddress = config.temporal.address;
  if (!temporalAddress) {
    const cli = resolveTemporalCli({ explicit: config.temporal.cliPath, log: say });
    say(`starting Temporal dev server (${cli}), history in ${path.relative(process.cwd(), path.join(config.dataDir, 'temporal.db'))}`);
    devServer = await startTemporalDevServer({
      cli, dbFile: path.join(config.dataDir, 'temporal.db'), port: config.temporal.devPort, uiPort: config.temporal.uiPort,
      namespace: config.temporal.namespace, logFile: path.join(config.dataDir, 'temporal.log'),
      // encrypted payloads: the Web UI asks the API's remote codec to show them (an approver key needed)
      uiCodecEndpoint: config.codec ? `${localApiUrl(config)}/codec` : undefined,
    });
    temporalAddress = devServer.address;
  }

  await backend;
  const platform = await startPlatform(config, {
    temporalAddress, log: say, workflowBundlePath: await bundle, database: await database,
    // a Worker that stopped polling helps no one: stop everything and exit non-zero (a supervisor restarts it)
    onWorkerFailure: () => {
      process.exitCode = 70;
      process.kill(process.pid, 'SIGTERM');
    },
  });
  const seconds = process.uptime().toFixed(1); // since the process began, imports included
  say(`ready in ${seconds} s`);
  console.log(`
  API          ${platform.apiUrl}   (OpenAPI: ${platform.apiUrl}/openapi.json)
  Console      ${platform.apiUrl}/ui   (sign in with an API token)
  Temporal UI  ${config.temporal.uiUrl}
  Temporal     ${temporalAddress} (namespace ${config.temporal.namespace})
  Database     ${platform.database?.kind === 'pglite' ? `PGlite in ${path.relative(process.cwd(), config.dataDir)}/pglite` : 'PostgreSQL (DATABASE_URL)'}
  Admin token  ${tokenLine}${config.codec ? `
  Payloads     encrypted in Temporal (${config.codec.current ? `key id ${config.codec.current.id}` : 'decode only'}); the UI decodes them through ${platform.apiUrl}/codec` : ''}

  Try:  curl -H "Authorization: Bearer ${tokenForCurl}" ${platform.apiUrl}/v1/models
  Ctrl-C stops everything; workflows in flight resume at the next npm start.
`);

  let stoppingSince = 0;
  const stop = async (signal: string) => {
    if (stoppingSince) {
      // a terminal's Ctrl-C reaches both tsx and this process at once: only a later one means "now"
      if (Date.now() - stoppingSince < 1500) return;
      say('second signal: exiting now');
      process.exit(1);
    }
    stoppingSince = Date.now();
    say(`${signal}: draining workers and stopping ...`);
    await platform.stop();
    await platform.database?.close();
    await devServer?.stop();
    say('stopped');
    process.exit(process.exitCode ?? 0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  if (err instanceof ConfigError || err instanceof TemporalCliNotFound) console.error(`[perennial] ${err.message}`);
  else console.error('[perennial] failed to start:', err);
  process.exit(1);
});
