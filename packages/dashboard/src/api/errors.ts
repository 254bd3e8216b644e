// The dashboard API's error catalogue: stable codes, one JSON envelope
// ({"error":{"code","message","param"?}}), documented in docs/dashboard-api.md.
export const API_ERRORS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  INTERNAL: 500,
  STORAGE_UNAVAILABLE: 503,
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly param?: string,
  ) {
    super(message);
    this.status = API_ERRORS[code];
  }

  body(): { error: { code: ApiErrorCode; message: string; param?: string } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.param === undefined ? {} : { param: this.param }),
      },
    };
  }
}

export const badParam = (param: string, message: string) =>
  new ApiError('BAD_REQUEST', `${param}: ${message}`, param);
