// @tunekit/core/testing: helpers and compliance suites for third-party adapters (vitest is a peer dependency).
export {};
