/** Plain (non-business) error bodies in the shape of each API surface the sim serves. */
import { STATUS_CODES } from 'node:http';

/** The API family a route belongs to; decides error envelope and auth scheme. */
export type Surface = 'anthropic' | 'openai' | 'quota';

/** Anthropic's error `type` per HTTP status, as its API documents them. */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 529:
      return 'overloaded_error';
    default:
      return status < 500 ? 'invalid_request_error' : 'api_error';
  }
}

/** A recognisable sim message per status: 'sim: bad request', 'sim: overloaded', ... */
export function simMessage(status: number): string {
  if (status === 529) return 'sim: overloaded';
  const reason = STATUS_CODES[status];
  return reason === undefined ? `sim: http ${status}` : `sim: ${reason.toLowerCase()}`;
}

/** An error body for `surface` with `status` and `message`. */
export function errorBody(surface: Surface, status: number, message: string): string {
  switch (surface) {
    case 'anthropic':
      return JSON.stringify({ type: 'error', error: { type: anthropicErrorType(status), message } });
    case 'openai':
      return JSON.stringify({
        error: {
          message,
          type: status < 500 ? 'invalid_request_error' : 'server_error',
          code: String(status),
        },
      });
    case 'quota':
      // The monitor API's own envelope: a provider code with success:false and no data.
      return JSON.stringify({ code: status, msg: message, data: null, success: false });
  }
}

/** The 401 each surface answers for a missing or wrong credential. */
export function authErrorBody(surface: Surface): string {
  switch (surface) {
    case 'anthropic':
      return JSON.stringify({
        type: 'error',
        error: { type: 'authentication_error', message: 'sim: missing or invalid x-api-key' },
      });
    case 'openai':
      return JSON.stringify({
        error: {
          message: 'sim: missing or invalid Authorization: Bearer key',
          type: 'invalid_request_error',
          code: '401',
        },
      });
    case 'quota':
      return JSON.stringify({ code: 401, msg: 'token expired or incorrect', data: null, success: false });
  }
}
