/**
 * How every part connects to Temporal. The address, namespace, TLS (client certificate or CA) and
 * API key of a hosted Temporal come from Temporal's own environment configuration
 * (@temporalio/envconfig): TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS,
 * TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH, or a
 * profile (TEMPORAL_PROFILE) of the TOML file TEMPORAL_CONFIG_FILE names. `npm start` runs its own dev
 * server when no address is configured.
 */
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';

export type TemporalConnectOptions = ClientConnectConfig['connectionOptions'] & { address: string };

/** The connection options from the environment; `address`, when given, is the dev server `npm start` runs. */
export function temporalConnectOptions(address?: string, env: NodeJS.ProcessEnv = process.env): TemporalConnectOptions {
  const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  const { connectionOptions } = loadClientConnectConfig({ overrideEnvVars: vars });
  return { ...connectionOptions, address: address ?? connectionOptions.address ?? 'localhost:7233' };
}
