// The start-up banner: what an operator needs to see once the proxy listens: where it is, what
// clients should export, where it forwards, whose key goes upstream. Pure, so a test reads it.
import type { Config } from './config.ts';

export interface BannerLine {
  fields: Record<string, unknown>;
  msg: string;
}

export type KeyMode = 'own_key' | 'pass_through' | 'client_keys';

export function keyMode(cfg: Pick<Config, 'ZAI_API_KEY' | 'PROXY_API_KEYS'>): KeyMode {
  if (cfg.ZAI_API_KEY === undefined) return 'pass_through';
  return cfg.PROXY_API_KEYS.length > 0 ? 'client_keys' : 'own_key';
}

/** The address clients on this machine use: a wildcard listen address is reached via loopback. */
function clientHost(host: string): string {
  if (host === '0.0.0.0' || host === '' || host === '::' || host === '::0') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

const TOKEN_HINT: Record<KeyMode, string> = {
  own_key: 'any value (the proxy sends its own Z.AI key)',
  pass_through: 'your own Z.AI key (it is forwarded as is)',
  client_keys: 'one of PROXY_API_KEYS',
};

/** Banner lines after the `Z.AI proxy listening on :PORT` line (main.ts writes that one verbatim). */
export function startupBanner(
  cfg: Config,
  addr: { address: string; port: number },
  countingMode: string,
): BannerLine[] {
  const base = `http://${clientHost(addr.address)}:${addr.port}`;
  const mode = keyMode(cfg);
  return [
    {
      fields: { anthropicBaseUrl: base, openaiBaseUrl: `${base}/v1` },
      msg: `Clients: export ANTHROPIC_BASE_URL=${base} OPENAI_BASE_URL=${base}/v1; ANTHROPIC_AUTH_TOKEN / OPENAI_API_KEY: ${TOKEN_HINT[mode]}`,
    },
    {
      fields: { anthropicUpstream: cfg.ZAI_TARGET_URL, openaiUpstream: cfg.ZAI_OPENAI_TARGET_URL },
      msg: `Forwarding Anthropic to ${cfg.ZAI_TARGET_URL} and OpenAI to ${cfg.ZAI_OPENAI_TARGET_URL}`,
    },
    {
      fields: { keyMode: mode, clientKeys: cfg.PROXY_API_KEYS.length, tokenCounting: countingMode },
      msg: `Key mode: ${mode.replace('_', '-')}${mode === 'client_keys' ? ` (${cfg.PROXY_API_KEYS.length} keys)` : ''}; token counting: ${countingMode}; access log: ${cfg.ACCESS_LOG ? 'on' : 'off'}`,
    },
    { fields: {}, msg: `Metrics available at :${addr.port}/metrics` },
  ];
}
