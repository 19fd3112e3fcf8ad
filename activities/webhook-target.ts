/**
 * Where a webhook may deliver: the rules of http(s) dataset sources (activities/source-policy.ts),
 * applied when a webhook is created (a 400 naming the rule) and again before every delivery, after
 * DNS resolution, so a host that later resolves to a private address is refused then too.
 * - http:// and https:// only, no user:password@, at most MAX_WEBHOOK_URL_LENGTH characters;
 * - public addresses only, unless PERENNIAL_ALLOW_PRIVATE_WEBHOOKS=true.
 */
import net from 'node:net';
import { MAX_WEBHOOK_URL_LENGTH } from '../common/webhooks';
import { isPublicAddress, systemLookup, type Lookup, type ResolvedAddress } from './source-policy';

export interface WebhookTargetPolicy {
  /** PERENNIAL_ALLOW_PRIVATE_WEBHOOKS: receivers may be on loopback and private networks */
  allowPrivateAddresses: boolean;
}

export const WEBHOOK_URL_RULES = {
  webhook_url_invalid: 'url: not a valid URL',
  webhook_url_too_long: `url: at most ${MAX_WEBHOOK_URL_LENGTH} characters`,
  webhook_url_scheme: 'url: receivers are http:// or https:// URLs',
  webhook_url_credentials: 'url: credentials in a URL (user:password@) are not accepted; the webhook\'s secret signs every delivery',
  webhook_url_private: 'url: a receiver must be on a public address (set PERENNIAL_ALLOW_PRIVATE_WEBHOOKS=true to allow loopback and private networks)',
  webhook_url_unresolvable: 'url: the host has no address',
} as const;
export type WebhookUrlRule = keyof typeof WEBHOOK_URL_RULES;

/** A URL the rules refuse: `code` names the rule; the message never repeats the URL. */
export class WebhookUrlRefused extends Error {
  constructor(readonly code: WebhookUrlRule) {
    super(WEBHOOK_URL_RULES[code]);
    this.name = 'WebhookUrlRefused';
  }
}

const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** Everything decided from the URL alone: its form, scheme, user-info and a literal address. */
export function parseWebhookUrl(raw: string, policy: WebhookTargetPolicy): URL {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) throw new WebhookUrlRefused('webhook_url_too_long');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlRefused('webhook_url_invalid');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookUrlRefused('webhook_url_scheme');
  if (url.username || url.password) throw new WebhookUrlRefused('webhook_url_credentials');
  const host = hostOf(url);
  if (!policy.allowPrivateAddresses && net.isIP(host) && !isPublicAddress(host)) throw new WebhookUrlRefused('webhook_url_private');
  return url;
}

/**
 * The address to connect to: the host resolved once, every address it resolves to checked (one
 * private address refuses the host), the first returned so the request goes to exactly that one.
 */
export async function vetWebhookTarget(url: URL, policy: WebhookTargetPolicy, lookup: Lookup = systemLookup): Promise<ResolvedAddress> {
  parseWebhookUrl(url.toString(), policy);
  const host = hostOf(url);
  const family = net.isIP(host);
  let addresses: ResolvedAddress[];
  try {
    addresses = family ? [{ address: host, family }] : await lookup(host);
  } catch {
    throw new WebhookUrlRefused('webhook_url_unresolvable');
  }
  if (!addresses.length) throw new WebhookUrlRefused('webhook_url_unresolvable');
  if (!policy.allowPrivateAddresses && addresses.some((a) => !isPublicAddress(a.address))) throw new WebhookUrlRefused('webhook_url_private');
  return addresses[0];
}
