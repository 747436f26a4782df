// @tunekit/server-adapter public API. Keep this barrel explicit: one line per exported module.
export {};
