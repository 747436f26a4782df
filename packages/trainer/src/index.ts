// @tunekit/trainer public API. Keep this barrel explicit: one line per exported module.
export {};
