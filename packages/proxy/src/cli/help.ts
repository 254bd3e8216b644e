// The proxy's own command line: `--help` (usage and every variable, from the config module) and
// `--version`. main.ts calls parseProxyArgs; a wrapping command (zai-proxy proxy …) can call the
// same functions with its own program name.
import { CONFIG_VARIABLES, isSecretVariable, VARIABLE_HELP, variableDefaults } from '../config.ts';

export type ProxyCommand =
  | { type: 'run' }
  | { type: 'help' }
  | { type: 'version' }
  | { type: 'error'; message: string };

/** What the arguments ask for; the proxy takes no other arguments (its settings are variables). */
export function parseProxyArgs(args: readonly string[]): ProxyCommand {
  if (args.includes('--help') || args.includes('-h')) return { type: 'help' };
  if (args.includes('--version') || args.includes('-v')) return { type: 'version' };
  const extra = args[0];
  if (extra !== undefined) return { type: 'error', message: `unknown argument ${extra} (try --help)` };
  return { type: 'run' };
}

/** The `--help` text. */
export function helpText(program = 'zai-proxy'): string {
  const defaults = variableDefaults();
  const width = Math.max(...CONFIG_VARIABLES.map((n) => n.length));
  const rows = CONFIG_VARIABLES.map((n) => {
    const d = defaults[n]!;
    const help = VARIABLE_HELP[n as keyof typeof VARIABLE_HELP] ?? '';
    const def = d === '' || isSecretVariable(n) ? '' : ` [default: ${d}]`;
    return `  ${n.padEnd(width)}  ${help}${def}`.trimEnd();
  });
  return [
    `Usage: ${program} [--help | --version]`,
    '',
    'Forwards Anthropic Messages and OpenAI Chat Completions to Z.AI. Configured only through',
    'environment variables (a .env file in the working directory is read too; variables already set',
    'win). Durations take 300ms, 30s, 5m or seconds (defaults below in ms); booleans true/false.',
    '',
    'Variables:',
    ...rows,
    '',
    'Docs: README.md, docs/configuration.md, docs/logging.md',
    '',
  ].join('\n');
}
