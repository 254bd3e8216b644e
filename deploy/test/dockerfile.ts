// A Dockerfile reader and a runner of its steps without Docker: each stage gets its own directory
// standing for its filesystem, WORKDIR/COPY paths map into it, RUN runs `sh -c` there (as root,
// as a build does), and the final stage's CMD and HEALTHCHECK run as its USER. RUN steps must use
// paths relative to WORKDIR (checked), since they run on this machine's filesystem.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  image: string;
  steps: Instruction[];
}

export interface Dockerfile {
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/** Splits a Dockerfile into instructions (continuations joined, comments dropped) and stages. */
export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (pending === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (pending !== '' && line.trimStart().startsWith('#')) return; // comment inside a continuation
    if (pending === '') start = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\w+)\s+([\s\S]*)$/.exec(full);
    if (m === null) throw new Error(`line ${start}: cannot parse "${full}"`);
    instructions.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
  });
  const df: Dockerfile = { globalArgs: {}, stages: [] };
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (m === null) throw new Error(`line ${ins.line}: bad FROM`);
      df.stages.push({ image: m[1]!, name: m[2] ?? String(df.stages.length), steps: [] });
    } else if (df.stages.length === 0) {
      if (ins.op !== 'ARG') throw new Error(`line ${ins.line}: ${ins.op} before FROM`);
      const [k, v = ''] = splitAssign(ins.args);
      df.globalArgs[k] = v;
    } else df.stages.at(-1)!.steps.push(ins);
  }
  return df;
}

const splitAssign = (s: string): [string, string] => {
  const eq = s.indexOf('=');
  return eq === -1 ? [s, ''] : [s.slice(0, eq), unquote(s.slice(eq + 1))];
};
const unquote = (s: string) => (/^".*"$/.test(s) ? s.slice(1, -1) : s);

/** `KEY=value KEY2="v w"` pairs (ENV and LABEL). */
export function parsePairs(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) out[m[1]!] = unquote(m[2]!);
  return out;
}

/** `${VAR}` and `$VAR` from vars; unknown ones become empty, as in Docker. */
export function substitute(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => vars[a ?? b] ?? '');
}

/** The exec-form JSON array of CMD/HEALTHCHECK CMD. */
export function execForm(s: string): string[] {
  const v = JSON.parse(s) as unknown;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`not an exec form: ${s}`);
  return v;
}

export interface HealthCheck {
  options: Record<string, string>;
  cmd: string[];
}

export function parseHealthcheck(args: string): HealthCheck {
  const m = /^((?:--[\w-]+=\S+\s+)*)CMD\s+(\[.*\])$/.exec(args);
  if (m === null) throw new Error(`HEALTHCHECK must be "[--opt=v …] CMD [exec form]": ${args}`);
  const options: Record<string, string> = {};
  for (const o of m[1]!.trim().split(/\s+/).filter(Boolean)) {
    const [k, v] = o.slice(2).split('=');
    options[k!] = v!;
  }
  return { options, cmd: execForm(m[2]!) };
}

/** Patterns of a .dockerignore as a predicate over context-relative paths. */
export function dockerignore(text: string): (rel: string) => boolean {
  const res = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((p) => {
      const body = p
        .replace(/\/$/, '')
        .split('/')
        .map((seg) =>
          seg === '**'
            ? '.*'
            : seg
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?');
      return new RegExp(`^${body}(?:/.*)?$`);
    });
  return (rel) => res.some((r) => r.test(rel));
}

/** Copies the build context (dir minus .dockerignore) into dest. */
export function copyContext(dir: string, dest: string): void {
  const ignoreFile = join(dir, '.dockerignore');
  const ignored = dockerignore(existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8') : '');
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (ignored(r)) continue;
      if (e.isDirectory()) {
        mkdirSync(join(dest, r), { recursive: true });
        walk(r);
      } else if (e.isFile()) cpSync(join(dir, r), join(dest, r));
    }
  };
  mkdirSync(dest, { recursive: true });
  walk('');
}

/** A path inside a stage's filesystem directory. */
export function inStage(stageRoot: string, cwd: string, p: string): string {
  const abs = p.startsWith('/') ? p : join(cwd, p);
  return join(stageRoot, abs);
}

/** COPY semantics: a directory source copies its contents; several sources or a trailing / mean a directory. */
export function copyInto(sources: string[], dest: string, destIsDir: boolean): void {
  for (const src of sources) {
    if (!existsSync(src)) throw new Error(`COPY: ${src} does not exist`);
    if (statSync(src).isDirectory()) {
      mkdirSync(dest, { recursive: true });
      cpSync(src, dest, { recursive: true });
    } else {
      const target = destIsDir ? join(dest, src.split('/').at(-1)!) : dest;
      mkdirSync(dirname(target), { recursive: true });
      cpSync(src, target);
    }
  }
}
