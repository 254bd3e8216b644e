import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from './App.tsx';
import { ThemeProvider } from './hooks/useTheme.tsx';

type Route = (url: URL, init?: RequestInit) => Response | undefined;

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });
const config = { scrape_interval: 5, variants: ['canary', 'production'], version: '0.1.0' };
const usage = {
  start: 0,
  end: 3_600_000,
  totals: {
    tokens_input: 10,
    tokens_output: 5,
    tokens_cache_read: 0,
    tokens_cache_write: 0,
    tokens_total: 15,
    cost_micro_usd_total: 20,
    cache_hit_ratio: 0,
  },
  by_variant: [],
  by_model: [
    {
      key: 'glm-4.6',
      tokens_input: 10,
      tokens_output: 5,
      tokens_cache_read: 0,
      tokens_cache_write: 0,
      tokens_total: 15,
      cost_micro_usd_total: 20,
      cache_hit_ratio: 0,
    },
  ],
  by_client: [],
};

function serve(extra: Route = () => undefined) {
  const calls: string[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: string, init?: RequestInit) => {
      const url = new URL(input, 'http://dash.local');
      calls.push(`${init?.method ?? 'GET'} ${url.pathname}${url.search}`);
      const r = extra(url, init);
      if (r) return r;
      switch (url.pathname) {
        case '/api/config':
          return json(config);
        case '/api/status':
          return json({ now: 0, scrape_interval: 5, variants: {}, targets: [] });
        case '/api/usage':
          return json(usage);
        case '/api/canary':
          return json({ generated_at: 0, window: '1h', baseline: 'production', min_sample: 50, results: [] });
        case '/api/metrics':
          return json([]);
        default:
          return json({ error: { code: 'NOT_FOUND', message: 'no' } }, 404);
      }
    }),
  );
  return calls;
}

const renderApp = () =>
  render(
    <ThemeProvider>
      <App />
    </ThemeProvider>,
  );

describe('App', () => {
  beforeEach(() => window.history.replaceState(null, '', '/'));
  afterEach(() => window.history.replaceState(null, '', '/'));

  it('reopens the view a copied URL describes, and writes changes back to it', async () => {
    window.history.replaceState(null, '', '/?range=6h&variant=canary&model=glm-4.6');
    const calls = serve();
    renderApp();
    expect(await screen.findByRole('button', { name: '6h' })).toHaveAttribute('aria-pressed', 'true');
    expect(screen.getByRole('checkbox', { name: 'canary' })).toBeChecked();
    expect(screen.getByRole('checkbox', { name: 'production' })).not.toBeChecked();
    await waitFor(() => expect(screen.getByLabelText('Model')).toHaveValue('glm-4.6'));
    await waitFor(() => expect(calls).toContain('GET /api/metrics?range=6h&variant=canary'));
    expect(calls).toContain('GET /api/usage?range=6h&variant=canary&model=glm-4.6');

    fireEvent.click(screen.getByRole('button', { name: '15m' }));
    expect(window.location.search).toBe('?range=15m&variant=canary&model=glm-4.6');
    await waitFor(() => expect(calls).toContain('GET /api/metrics?range=15m&variant=canary'));
    fireEvent.click(screen.getByRole('checkbox', { name: 'production' }));
    expect(window.location.search).toBe('?range=15m&model=glm-4.6');
  });

  it('exports the filtered view through the API', async () => {
    window.history.replaceState(null, '', '/?range=24h&variant=production&client=team-a');
    serve();
    renderApp();
    const csv = await screen.findByRole('link', { name: 'CSV' });
    expect(csv).toHaveAttribute(
      'href',
      '/api/export?format=csv&kind=metrics&range=24h&variant=production&client=team-a',
    );
  });

  it('shows the sign-in form on 401 and returns to the dashboard once the token is accepted', async () => {
    let signedIn = false;
    const calls = serve((url, init) => {
      if (url.pathname === '/api/session' && init?.method === 'POST') {
        const ok = JSON.parse(String(init.body)).token === 's3cret';
        signedIn ||= ok;
        return ok
          ? new Response(null, { status: 204 })
          : json({ error: { code: 'UNAUTHORIZED', message: 'bad token' } }, 401);
      }
      if (!signedIn && url.pathname.startsWith('/api/'))
        return json({ error: { code: 'UNAUTHORIZED', message: 'token needed' } }, 401);
      return undefined;
    });
    renderApp();
    const input = await screen.findByLabelText('Token');
    fireEvent.change(input, { target: { value: 'wrong' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('That token is not right.');
    fireEvent.change(input, { target: { value: 's3cret' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('heading', { name: 'zai-proxy' })).toBeInTheDocument();
    expect(calls.filter((c) => c === 'POST /api/session')).toHaveLength(2);
  });

  it('applies the theme choice to the page', async () => {
    serve();
    renderApp();
    const select = await screen.findByLabelText('Theme');
    fireEvent.change(select, { target: { value: 'dark' } });
    expect(document.documentElement.dataset.theme).toBe('dark');
    fireEvent.change(select, { target: { value: 'light' } });
    expect(document.documentElement.dataset.theme).toBe('light');
    expect(localStorage.getItem('zai-dashboard-theme')).toBe('light');
  });

  it('says when the service does not answer, with a retry', async () => {
    serve((url) =>
      url.pathname === '/api/config'
        ? json({ error: { code: 'INTERNAL', message: 'boom' } }, 500)
        : undefined,
    );
    renderApp();
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('boom');
    expect(within(alert).getByRole('button', { name: 'Try again' })).toBeInTheDocument();
  });
});
