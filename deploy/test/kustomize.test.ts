// Every overlay under deploy/k8s/overlays, rendered by `kubectl kustomize` and checked: probes on
// the ports the services listen on, every env value accepted by the proxy's config module, rollouts
// that wait for a turn to finish, each pod scraped once, Services and budgets that select pods.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import {
  CONFIG_VARIABLES as DASHBOARD_VARIABLES,
  loadConfig as loadDashboardConfig,
} from '../../packages/dashboard/src/config.ts';
import { CONFIG_VARIABLES, loadConfig } from '../../packages/proxy/src/config.ts';
import { run } from './processes.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OVERLAYS = join(ROOT, 'deploy/k8s/overlays');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

// The subset of the Kubernetes objects these checks read.
type Labels = Record<string, string>;
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  enableServiceLinks?: boolean;
  terminationGracePeriodSeconds?: number;
  containers: Container[];
  volumes?: {
    name: string;
    emptyDir?: object;
    persistentVolumeClaim?: { claimName: string };
    secret?: { secretName: string };
  }[];
}
interface K8sObject {
  kind: string;
  metadata: { name: string; labels?: Labels };
  spec?: {
    replicas?: number;
    strategy?: {
      type: string;
      rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string };
    };
    selector?: { matchLabels?: Labels } & Labels;
    template?: { metadata: { labels: Labels }; spec: PodSpec };
    ports?: { name: string; port: number; targetPort: string | number }[];
    endpoints?: { port: string; path: string }[];
  };
  stringData?: Record<string, string>;
}

const selects = (selector: Labels, labels: Labels) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

function render(overlay: string): K8sObject[] {
  const text = run('kubectl', ['kustomize', join(OVERLAYS, overlay)]);
  return parseAllDocuments(text).map((d) => d.toJS() as K8sObject);
}

const overlays = readdirSync(OVERLAYS).sort();

test('the overlays are production, canary and canary with Redis', () => {
  assert.deepEqual(overlays, ['canary', 'canary-redis', 'production']);
});

for (const overlay of overlays) {
  describe(`overlay ${overlay}`, () => {
    const objects = render(overlay);
    const of = (kind: string) => objects.filter((o) => o.kind === kind);
    const deployments = of('Deployment');
    const proxies = deployments.filter((d) => d.metadata.labels?.['app.kubernetes.io/component'] === 'proxy');
    const services = of('Service');

    test('renders a production proxy; the canary overlays add a canary beside it', () => {
      const variants = proxies.map((d) => d.spec!.template!.metadata.labels.variant).sort();
      assert.deepEqual(variants, overlay === 'production' ? ['production'] : ['canary', 'production']);
    });

    for (const d of proxies) {
      const name = d.metadata.name;
      const pod = d.spec!.template!;
      const c = pod.spec.containers.find((x) => x.name === 'proxy')!;
      const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));

      test(`${name}: every env name is a proxy variable and the values load with loadConfig`, () => {
        const names = (c.env ?? []).map((e) => e.name);
        assert.equal(new Set(names).size, names.length, 'no variable set twice');
        for (const n of names) {
          assert.ok(CONFIG_VARIABLES.includes(n), `${n} is not a variable of packages/proxy/src/config.ts`);
        }
        const values: Record<string, string> = {};
        for (const e of c.env ?? []) {
          if (e.value !== undefined) values[e.name] = e.value;
          else {
            const ref = e.valueFrom?.secretKeyRef;
            assert.ok(ref !== undefined, `${e.name}: a value or a secretKeyRef`);
            const secret = of('Secret').find((s) => s.metadata.name === ref.name);
            assert.ok(
              secret?.stringData?.[ref.key] !== undefined,
              `${e.name}: secret ${ref.name}/${ref.key} exists`,
            );
            values[e.name] = secret.stringData[ref.key]!;
          }
        }
        const cfg = loadConfig(values);
        if (cfg.ZAI_API_KEY_FILE !== undefined) {
          // The key file lies in a mounted Secret that the overlay defines.
          const mount = c.volumeMounts?.find((m) => cfg.ZAI_API_KEY_FILE!.startsWith(`${m.mountPath}/`));
          const vol = pod.spec.volumes?.find((v) => v.name === mount?.name);
          assert.ok(vol?.secret !== undefined, 'ZAI_API_KEY_FILE is in a Secret volume');
          const secret = of('Secret').find((x) => x.metadata.name === vol.secret!.secretName);
          const key = cfg.ZAI_API_KEY_FILE.slice(mount!.mountPath.length + 1);
          assert.ok(secret?.stringData?.[key] !== undefined, `the Secret has the key ${key}`);
        }
        for (const f of [cfg.RATE_LIMIT_STATE_FILE, cfg.TOKEN_CALIBRATION_STATE_FILE]) {
          const mount = c.volumeMounts?.find((m) => f?.startsWith(`${m.mountPath}/`));
          const vol = pod.spec.volumes?.find((v) => v.name === mount?.name);
          assert.ok(vol?.emptyDir !== undefined, `${f} is on an emptyDir (the root filesystem is read-only)`);
        }
        assert.equal(
          cfg.DEPLOYMENT_VARIANT,
          pod.metadata.labels.variant,
          'DEPLOYMENT_VARIANT = the pod variant',
        );
        const port = c.ports?.find((p) => p.name === 'http');
        assert.equal(port?.containerPort, cfg.PORT, 'the http port is the one the proxy listens on');
      });

      test(`${name}: readiness /readyz and liveness /healthz on the http port`, () => {
        assert.deepEqual(c.readinessProbe?.httpGet, { path: '/readyz', port: 'http' });
        assert.deepEqual(c.livenessProbe?.httpGet, { path: '/healthz', port: 'http' });
      });

      test(`${name}: a rollout never cuts a turn (surge first, preStop, grace above SHUTDOWN_TIMEOUT)`, () => {
        const s = d.spec!.strategy!;
        assert.equal(s.type, 'RollingUpdate');
        assert.equal(s.rollingUpdate?.maxUnavailable, 0, 'no pod stops before its replacement is Ready');
        assert.ok(Number(s.rollingUpdate?.maxSurge) >= 1);
        const preStop = c.lifecycle?.preStop?.exec?.command;
        assert.deepEqual(preStop?.slice(0, 1), ['sleep']);
        const preStopS = Number(preStop![1]);
        const shutdownMs = loadConfig({ SHUTDOWN_TIMEOUT: env.SHUTDOWN_TIMEOUT?.value }).SHUTDOWN_TIMEOUT;
        assert.ok(shutdownMs >= 5 * 60_000, 'SHUTDOWN_TIMEOUT covers a long turn');
        const grace = pod.spec.terminationGracePeriodSeconds!;
        assert.ok(
          grace * 1000 > preStopS * 1000 + shutdownMs,
          `grace ${grace} s > preStop + SHUTDOWN_TIMEOUT`,
        );
        const pdb = of('PodDisruptionBudget').filter((p) =>
          selects(p.spec!.selector!.matchLabels!, pod.metadata.labels),
        );
        assert.equal(pdb.length, 1, 'one PodDisruptionBudget covers the pods');
      });

      test(`${name}: no service links, a state emptyDir, requests and limits, a versioned image`, () => {
        assert.equal(pod.spec.enableServiceLinks, false, 'ZAI_PROXY_* service variables would collide');
        const state = c.volumeMounts?.find((m) => m.mountPath === '/var/lib/zai-proxy');
        assert.ok(pod.spec.volumes?.find((v) => v.name === state?.name)?.emptyDir !== undefined);
        for (const r of ['cpu', 'memory']) {
          assert.ok(c.resources?.requests?.[r], `requests.${r}`);
          assert.ok(c.resources?.limits?.[r], `limits.${r}`);
        }
        const tag = c.image.split(':').at(-1);
        assert.equal(tag, pod.metadata.labels.variant === 'canary' ? `${VERSION}-canary` : VERSION);
      });
    }

    test('Services select pods and target a named container port', () => {
      const pods = deployments.map((d) => d.spec!.template!);
      for (const s of services) {
        const matched = pods.filter((p) => selects(s.spec!.selector as Labels, p.metadata.labels));
        assert.ok(matched.length > 0, `${s.metadata.name} selects pods`);
        for (const p of matched)
          for (const sp of s.spec!.ports!)
            assert.ok(
              p.spec.containers.some((c) => c.ports?.some((cp) => cp.name === sp.targetPort)),
              `${s.metadata.name}: port ${sp.targetPort}`,
            );
      }
      const canaryService = services.find((s) => s.metadata.name === 'zai-proxy-canary');
      if (overlay === 'production') assert.equal(canaryService, undefined);
      else assert.equal((canaryService!.spec!.selector as Labels).variant, 'canary');
    });

    test('the ServiceMonitor scrapes every proxy pod exactly once, on /metrics', () => {
      const [sm, ...more] = of('ServiceMonitor');
      assert.ok(sm !== undefined && more.length === 0);
      assert.deepEqual(
        sm.spec!.endpoints!.map((e) => e.path),
        ['/metrics'],
      );
      const scraped = services.filter((s) =>
        selects(sm.spec!.selector!.matchLabels!, s.metadata.labels ?? {}),
      );
      for (const d of proxies) {
        const n = scraped.filter((s) =>
          selects(s.spec!.selector as Labels, d.spec!.template!.metadata.labels),
        );
        assert.equal(n.length, 1, `${d.metadata.name} is behind exactly one scraped Service`);
      }
    });

    test('the dashboard: one replica, Recreate, probes on its LISTEN_ADDR port', () => {
      const dash = deployments.find((d) => d.metadata.name === 'zai-dashboard')!;
      assert.equal(dash.spec!.replicas, 1);
      assert.equal(dash.spec!.strategy!.type, 'Recreate', 'two pods never open the SQLite file at once');
      const pod = dash.spec!.template!.spec;
      assert.equal(pod.enableServiceLinks, false);
      const c = pod.containers[0]!;
      const listen = c.env!.find((e) => e.name === 'LISTEN_ADDR')!.value!;
      assert.equal(c.ports!.find((p) => p.name === 'http')!.containerPort, Number(listen.split(':').at(-1)));
      assert.deepEqual(c.readinessProbe?.httpGet, { path: '/readyz', port: 'http' });
      assert.deepEqual(c.livenessProbe?.httpGet, { path: '/healthz', port: 'http' });
      const values = Object.fromEntries(c.env!.map((e) => [e.name, e.value]));
      for (const n of Object.keys(values))
        assert.ok(DASHBOARD_VARIABLES.includes(n), `${n} is a variable of packages/dashboard/src/config.ts`);
      loadDashboardConfig(values); // every value parses
      const data = c.volumeMounts!.find((m) => m.name === 'data')!;
      const db = c.env!.find((e) => e.name === 'DB_PATH')!.value!;
      assert.ok(db.startsWith(`${data.mountPath}/`), 'the database is on the volume');
    });

    test('Redis only where the component is used, and then every proxy uses it', () => {
      const redis = deployments.some((d) => d.metadata.name === 'zai-proxy-redis');
      assert.equal(redis, overlay === 'canary-redis');
      for (const d of proxies) {
        const url = d.spec!.template!.spec.containers[0]!.env!.find((e) => e.name === 'REDIS_URL');
        assert.equal(url !== undefined, redis, `${d.metadata.name}: REDIS_URL`);
      }
    });
  });
}
