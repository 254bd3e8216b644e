import type { ReactNode } from 'react';

export type PanelState =
  | { kind: 'loading' }
  | { kind: 'error'; message: string; retry?: () => void }
  | { kind: 'empty'; message: string }
  | { kind: 'ready' };

export interface PanelProps {
  id: string;
  title: string;
  state: PanelState;
  /** The big number(s) at the top, shown only when ready. */
  headline?: ReactNode;
  /** Extra controls or notes at the right of the title. */
  aside?: ReactNode;
  children?: ReactNode;
  wide?: boolean;
}

/** A dashboard card: title, headline, and exactly one of loading / error / empty / content. */
export function Panel({ id, title, state, headline, aside, children, wide }: PanelProps) {
  const titleId = `${id}-title`;
  return (
    <section
      className={wide ? 'panel panel-wide' : 'panel'}
      aria-labelledby={titleId}
      aria-busy={state.kind === 'loading'}
      data-panel={id}
      data-state={state.kind}
    >
      <header className="panel-head">
        <h2 id={titleId}>{title}</h2>
        {aside}
      </header>
      {state.kind === 'loading' && (
        <div className="panel-body panel-loading" role="status">
          <span className="skeleton" aria-hidden="true" />
          <span className="sr-only">Loading {title}…</span>
        </div>
      )}
      {state.kind === 'error' && (
        <div className="panel-body panel-error" role="alert">
          <p>
            Could not load {title.toLowerCase()}: {state.message}
          </p>
          {state.retry && (
            <button type="button" onClick={state.retry}>
              Try again
            </button>
          )}
        </div>
      )}
      {state.kind === 'empty' && (
        <div className="panel-body panel-empty">
          <p>{state.message}</p>
        </div>
      )}
      {state.kind === 'ready' && (
        <div className="panel-body">
          {headline !== undefined && <div className="headline">{headline}</div>}
          {children}
        </div>
      )}
    </section>
  );
}
