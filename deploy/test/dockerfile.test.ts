// Each deploy/*.Dockerfile, checked and then run without a Docker daemon: its build steps in a clean
// copy of the build context (npm from its cache, offline), its CMD as its USER (uid 1000, files
// owned by root as COPY leaves them), and its HEALTHCHECK against the started service, which must
// pass while it serves and fail once it is gone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type SimUpstream, startSimUpstream } from '@zai-proxy/testkit';
import {
  copyContext,
  copyInto,
  type Dockerfile,
  execForm,
  type HealthCheck,
  inStage,
  parseDockerfile,
  parseHealthcheck,
  parsePairs,
  substitute,
} from './dockerfile.ts';
import { freePort, get, localPrebuilds, type Proc, start } from './processes.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const PKG_VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;
/** Users of the official node images. */
const USERS: Record<string, number> = { node: 1000 };
const NPM_ENV = { npm_config_offline: 'true', npm_config_update_notifier: 'false' };
const KEY = 'zai-docker-test-KEY-3';

const dockerfiles = readdirSync(DEPLOY).filter((f) => f.endsWith('.Dockerfile'));

/** What running the final stage needs. */
interface Image {
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string;
  labels: Record<string, string>;
  expose: string[];
  healthcheck: HealthCheck;
  cmd: string[];
}

/** Runs every stage's steps; returns the final stage as an image. */
function build(df: Dockerfile, tmp: string, buildArgs: Record<string, string>): Image {
  const context = join(tmp, 'context');
  const prebuilds = localPrebuilds(ROOT, join(tmp, 'prebuilds'));
  copyContext(ROOT, context);
  const roots = new Map<string, string>();
  let image: Image | null = null;
  for (const [i, stage] of df.stages.entries()) {
    const root = join(tmp, 'stages', String(i));
    mkdirSync(root, { recursive: true });
    roots.set(stage.name, root);
    const args: Record<string, string> = {};
    let env: Record<string, string> = {};
    let cwd = '/';
    const img: Partial<Image> = { labels: {}, expose: [], user: 'root' };
    const vars = () => ({ ...df.globalArgs, ...args, ...env });
    for (const s of stage.steps) {
      const a = substitute(s.args, vars());
      switch (s.op) {
        case 'ARG': {
          const [k, def] = s.args.includes('=') ? s.args.split(/=(.*)/s) : [s.args, undefined];
          args[k!] =
            buildArgs[k!] ?? (def === undefined ? (df.globalArgs[k!] ?? '') : def.replace(/^"|"$/g, ''));
          break;
        }
        case 'WORKDIR':
          cwd = a.startsWith('/') ? a : join(cwd, a);
          mkdirSync(join(root, cwd), { recursive: true });
          break;
        case 'ENV':
          env = { ...env, ...parsePairs(a) };
          break;
        case 'LABEL':
          img.labels = { ...img.labels, ...parsePairs(a) };
          break;
        case 'COPY': {
          const words = a.split(/\s+/);
          const flags = words.filter((w) => w.startsWith('--'));
          const paths = words.filter((w) => !w.startsWith('--'));
          const from = flags.find((f) => f.startsWith('--from='))?.slice(7);
          const dest = paths.pop()!;
          const srcBase = from === undefined ? context : roots.get(from);
          assert.ok(srcBase !== undefined, `line ${s.line}: COPY --from=${from}: no such stage`);
          const sources = paths.map((p) =>
            from === undefined
              ? join(context, p)
              : inStage(srcBase, '/', p.startsWith('/') ? p : join('/', p)),
          );
          copyInto(
            sources,
            inStage(root, cwd, dest),
            dest.endsWith('/') || dest === '.' || sources.length > 1,
          );
          const chown = flags.find((f) => f.startsWith('--chown='))?.slice(8);
          if (chown !== undefined) {
            const [u, g = u] = chown.split(':').map((n) => (/^\d+$/.test(n) ? Number(n) : USERS[n]));
            assert.ok(u !== undefined && g !== undefined, `line ${s.line}: --chown=${chown}: unknown user`);
            const chownAll = (p: string) => {
              chownSync(p, u, g);
              if (statSync(p).isDirectory()) for (const e of readdirSync(p)) chownAll(join(p, e));
            };
            chownAll(inStage(root, cwd, dest));
          }
          break;
        }
        case 'RUN': {
          assert.ok(
            !/(^|[\s=;&|(])\//.test(a),
            `line ${s.line}: RUN uses an absolute path; use paths relative to WORKDIR`,
          );
          const r = spawnSync('sh', ['-c', a], {
            cwd: join(root, cwd),
            env: {
              PATH: process.env.PATH,
              HOME: process.env.HOME,
              ...NPM_ENV,
              ...prebuilds,
              ...args,
              ...env,
            },
            encoding: 'utf8',
          });
          assert.equal(r.status, 0, `line ${s.line}: RUN ${a}\n${r.stdout}${r.stderr}`);
          break;
        }
        case 'USER':
          img.user = a;
          break;
        case 'EXPOSE':
          img.expose!.push(...a.split(/\s+/));
          break;
        case 'HEALTHCHECK':
          img.healthcheck = parseHealthcheck(a);
          break;
        case 'CMD':
          img.cmd = execForm(a);
          break;
        default:
          assert.fail(`line ${s.line}: ${s.op} is not supported by this runner`);
      }
    }
    image = { ...(img as Image), root, workdir: cwd, env };
  }
  return image!;
}

/** How each image's service is started and what it must answer, beyond its HEALTHCHECK. */
interface Service {
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** The environment a deployment sets (port, upstream). */
  env(port: number): Record<string, string>;
  check(base: string, workdir: string): Promise<void>;
}

let sim: SimUpstream;
let target: Server;
const SERVICES: Record<string, Service> = {
  'proxy.Dockerfile': {
    setUp: async () => {
      sim = await startSimUpstream({ apiKey: KEY });
    },
    tearDown: async () => {
      await sim?.close();
    },
    env: (port) => ({
      PORT: String(port),
      HOST: '127.0.0.1',
      ZAI_API_KEY: KEY,
      SHUTDOWN_DELAY: '0', // no load balancer to wait for
      // Not the machine's shared default, which holds limits other proxies here learned.
      RATE_LIMIT_STATE_FILE: join(tmpdir(), `zai-docker-test-${process.pid}.json`),
      ZAI_TARGET_URL: `${sim.url}/api/anthropic`,
      ZAI_OPENAI_TARGET_URL: `${sim.url}/api/paas/v4`,
    }),
    async check(base) {
      assert.equal((await get(`${base}/readyz`)).status, 200);
      const health = JSON.parse((await get(`${base}/health`)).body) as { version: string };
      assert.equal(
        health.version,
        PKG_VERSION,
        'an empty VERSION build-arg falls back to the package version',
      );
      assert.match(
        (await get(`${base}/metrics`)).body,
        /zai_proxy_build_info\{[^}]*commit="c0ffee1"[^}]*\} 1/,
        'COMMIT reaches the build info',
      );
    },
  },
  'dashboard.Dockerfile': {
    // A proxy's /metrics stand-in: the dashboard is ready once one target answers.
    setUp: async () => {
      target = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(
          'zai_proxy_requests_total{method="POST",path="/v1/messages",status_code="200",variant="production"} 1\n',
        );
      });
      await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    },
    tearDown: () => new Promise<void>((resolve) => (target ? target.close(() => resolve()) : resolve())),
    env: (port) => ({
      LISTEN_ADDR: `127.0.0.1:${port}`,
      SCRAPE_TARGETS: `production=http://127.0.0.1:${(target.address() as { port: number }).port}/metrics`,
      SCRAPE_INTERVAL: '200ms',
    }),
    async check(base, workdir) {
      let ready = await get(`${base}/readyz`);
      for (let i = 0; i < 100 && ready.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ready = await get(`${base}/readyz`);
      }
      assert.equal(ready.status, 200, `ready once its target answered: ${ready.body}`);
      assert.equal(
        (await get(`${base}/`)).body,
        readFileSync(join(workdir, 'dist', 'web', 'index.html'), 'utf8'),
        'the web build is baked in and served at /',
      );
      assert.ok(
        existsSync(join(workdir, 'data', 'dashboard.db')),
        'the database is written where DB_PATH says, as USER',
      );
    },
  },
};

for (const file of dockerfiles) {
  describe(`deploy/${file}`, () => {
    const df = parseDockerfile(readFileSync(join(DEPLOY, file), 'utf8'));
    let tmp: string;
    let image: Image;
    let service: Proc | null = null;

    test('is multi-stage on the Node version of ARG NODE_VERSION (default 24)', () => {
      assert.equal(df.globalArgs.NODE_VERSION, '24');
      assert.ok(df.stages.length >= 2, 'a build stage and a runtime stage');
      for (const s of df.stages)
        assert.match(s.image, /^node:\$\{NODE_VERSION\}-/, `${s.name}: FROM node:\${NODE_VERSION}`);
      const final = df.stages.at(-1)!.steps;
      const user = final.filter((s) => s.op === 'USER').at(-1);
      assert.ok(
        user !== undefined && user.args !== 'root' && user.args !== '0',
        'the runtime stage drops root',
      );
      const hc = final.find((s) => s.op === 'HEALTHCHECK');
      assert.ok(hc !== undefined, 'a HEALTHCHECK');
      assert.deepEqual(parseHealthcheck(hc.args).cmd.slice(0, 2), ['node', '-e'], 'slim images have no curl');
      const labels = parsePairs(
        final
          .filter((s) => s.op === 'LABEL')
          .map((s) => s.args)
          .join(' '),
      );
      for (const l of ['title', 'version', 'revision', 'created'])
        assert.ok(`org.opencontainers.image.${l}` in labels, `OCI label ${l}`);
    });

    describe('built and started as its USER', () => {
      const svc = SERVICES[file]!;
      before(async () => {
        tmp = mkdtempSync(join(tmpdir(), 'zai-docker-'));
        chmodSync(tmp, 0o755); // the USER must reach the image files
        image = build(df, tmp, { COMMIT: 'c0ffee1', BUILD_TIME: '2026-12-01T00:00:00Z' });
        await svc.setUp();
      });
      after(async () => {
        await service?.stop();
        await svc.tearDown();
        rmSync(tmp, { recursive: true, force: true });
      });

      test('the service starts from CMD, and HEALTHCHECK passes while it serves, fails when it is gone', async () => {
        const uid = USERS[image.user];
        assert.ok(uid !== undefined, `USER ${image.user} is a user of the node image`);
        const home = join(image.root, 'home', image.user);
        mkdirSync(home, { recursive: true });
        chownSync(home, uid, uid);
        const port = await freePort();
        const env = {
          PATH: process.env.PATH!,
          HOME: `/home/${image.user}`,
          ...image.env,
          ...svc.env(port),
        };
        const cwd = join(image.root, image.workdir);
        const [cmd, ...args] = image.cmd;
        service = start(cmd!, args, { cwd, env, uid, gid: uid });
        await service.waitFor(/listening on \S*:\d+/);
        assert.ok(image.expose.length > 0);
        await svc.check(`http://127.0.0.1:${port}`, cwd);
        const check = () =>
          spawnSync(image.healthcheck.cmd[0]!, image.healthcheck.cmd.slice(1), {
            cwd,
            env,
            uid,
            gid: uid,
            timeout: 10_000,
          }).status;
        assert.equal(check(), 0, 'HEALTHCHECK passes while the service serves');
        assert.equal(await service.stop(), 0, 'SIGTERM: a clean exit');
        service = null;
        assert.notEqual(check(), 0, 'HEALTHCHECK fails once the service is gone');
      });
    });
  });
}

test('there is a Dockerfile per service', () => {
  assert.deepEqual(dockerfiles.sort(), Object.keys(SERVICES).sort());
});
