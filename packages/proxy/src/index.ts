// The package entry: builds a proxy, starts nothing. The process entry is main.ts.
export type { Admission, AdmissionRequest, Permit, PermitOutcome } from './admission/index.ts';
export { openAdmission } from './admission/index.ts';
export { buildProxy, type ProxyOverrides, type ZaiProxy } from './app.ts';
export { type Clock, systemClock } from './clock.ts';
export { type Config, ConfigError, loadConfig } from './config.ts';
export { ERRORS, type ErrorClass, type ErrorCode, GatewayError } from './errors.ts';
export type { ClientIdentity } from './http/auth.ts';
export type { HealthSection } from './http/ops-routes.ts';
export { createLogger, type Logger } from './log.ts';
export type { Metrics } from './metrics.ts';
export type { SignalListener, UpstreamSignal, UpstreamSignals } from './upstream/signals.ts';
