import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/react';
import { afterEach, beforeEach, vi } from 'vitest';
import { FakeEventSource, FakePlot, resetFakes } from './test-fakes.ts';

// jsdom has no canvas: every test gets the recording uPlot double (the e2e tests draw real charts).
vi.mock('uplot', () => ({ default: FakePlot }));
vi.mock('uplot/dist/uPlot.min.css', () => ({}));

beforeEach(() => {
  resetFakes();
  vi.stubGlobal('EventSource', FakeEventSource);
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});
