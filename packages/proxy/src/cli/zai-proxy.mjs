#!/usr/bin/env node
// The package's command: small helpers around a running proxy. Plain Node, so it starts fast.
const [command, ...rest] = process.argv.slice(2);

const USAGE = `usage: zai-proxy <command> [options]

commands:
  statusline   one line for Claude Code's status bar (quota, gate, forecast, tokens and cost)
               --url=http://127.0.0.1:8080   the proxy (default: ANTHROPIC_BASE_URL's origin, else :8080)
               --cache-ms=5000 --timeout-ms=500 --cache-file=<path>
`;

switch (command) {
  case 'statusline': {
    const { main } = await import('./statusline.mjs');
    await main(rest);
    break;
  }
  case undefined:
  case '-h':
  case '--help':
  case 'help':
    process.stdout.write(USAGE);
    break;
  default:
    process.stderr.write(`zai-proxy: unknown command '${command}'\n\n${USAGE}`);
    process.exitCode = 2;
}
