// The one Prometheus text parser of the repository: the proxy's tests, the benchmarks and the
// dashboard's collector all read exposition text through it.
export {
  addHistograms,
  type Buckets,
  diffHistograms,
  histogramQuantile,
  readHistogram,
  totalCount,
} from './histogram.ts';
export {
  type Family,
  type MetricType,
  PromParseError,
  parsePrometheusText,
  parseValue,
  type Sample,
} from './parse.ts';
export { type Families, type LabelMatch, matches, samplesOf, sumSamples } from './select.ts';
