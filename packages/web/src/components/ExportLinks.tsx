import { api } from '../api/client.ts';
import type { ViewState } from '../lib/url-state.ts';

/** Downloads of the current view through the API, with the same range and filters as the page. */
export function ExportLinks({ view, now }: { view: ViewState; now: number }) {
  const kind = view.model ? 'usage' : 'metrics';
  return (
    <span className="export">
      <span className="muted">Export {kind}:</span>
      <a href={api.exportUrl(view, now, 'csv', kind)} download>
        CSV
      </a>
      <a href={api.exportUrl(view, now, 'json', kind)} download>
        JSON
      </a>
    </span>
  );
}
